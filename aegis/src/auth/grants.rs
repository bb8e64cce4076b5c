//! From an identity provider's claims to a user and its feature
//! permissions: which claim names the user, and grants such as "whoever
//! has `admin` in `realm_access.roles` may change every feature".

use std::fmt;

use serde_json::{Map, Value};

/// Read or write: what a [`Grant`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// "A token whose `claim` holds `value` may `access` these `features`."
///
/// Written `<claim>:<value>=<read|write>:<features>`: `roles:admin=write:*`,
/// `realm_access.roles:auditor=read:budgets,authors`,
/// `scope:budgets.write=write:budgets`. The claim is a dotted path into
/// the token; it holds the value when it is that string, a list with that
/// string, or a space-separated string with that word (as `scope` and
/// `scp` are); `*` stands for every feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    claim: Vec<String>,
    value: String,
    access: Access,
    features: Vec<String>,
}

impl Grant {
    /// A grant by its parts.
    pub fn new(claim: &str, value: &str, access: Access, features: &[&str]) -> Self {
        Grant {
            claim: claim.split('.').map(str::to_owned).collect(),
            value: value.to_owned(),
            access,
            features: features.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// Whether `claims` hold this grant's value. An address in `email`
    /// counts only when the provider says it checked it
    /// (`email_verified: true`): many providers let a user type any
    /// address into their profile.
    fn holds(&self, claims: &Map<String, Value>) -> bool {
        if self.claim == ["email"] && claims.get("email_verified") != Some(&Value::Bool(true)) {
            return false;
        }
        let mut path = self.claim.iter();
        let Some(first) = path.next() else {
            return false;
        };
        let found = path.try_fold(claims.get(first), |value, key| {
            Some(value.and_then(|v| v.get(key)))
        });
        match found.flatten() {
            Some(Value::String(text)) => {
                text == &self.value || text.split_whitespace().any(|word| word == self.value)
            }
            Some(Value::Array(items)) => items
                .iter()
                .any(|item| item.as_str() == Some(self.value.as_str())),
            Some(Value::Bool(flag)) => flag.to_string() == self.value,
            Some(Value::Number(number)) => number.to_string() == self.value,
            _ => false,
        }
    }
}

impl std::str::FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected `<claim>:<value>=<read|write>:<features>`, as in `roles:admin=write:*`, \
                 found `{text}`"
            )
        };
        let (claim, rest) = text.split_once(':').ok_or_else(expected)?;
        let (value, grant) = rest.rsplit_once('=').ok_or_else(expected)?;
        let (access, features) = grant.split_once(':').ok_or_else(expected)?;
        let access = match access.trim() {
            "read" => Access::Read,
            "write" => Access::Write,
            other => {
                return Err(format!(
                    "a grant gives `read` or `write`, found `{other}` in `{text}`"
                ));
            }
        };
        let claim = claim.trim();
        let features: Vec<&str> = features
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        if claim.is_empty() || claim.split('.').any(str::is_empty) || features.is_empty() {
            return Err(expected());
        }
        Ok(Grant::new(claim, value.trim(), access, &features))
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        write!(
            f,
            "{}:{}={access}:{}",
            self.claim.join("."),
            self.value,
            self.features.join(",")
        )
    }
}

/// How a verified token becomes [`super::Claims`].
#[derive(Clone, Debug)]
pub(super) struct Mapping {
    /// The claim whose value is the user id (`sub` unless configured).
    pub(super) user_claim: String,
    pub(super) grants: Vec<Grant>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            user_claim: "sub".to_owned(),
            grants: Vec::new(),
        }
    }
}

impl Mapping {
    /// The user, the expiry and the permissions of verified `claims`: in
    /// the server's own tokens, their `read` and `write` lists; in any
    /// token, every grant it holds (a provider's token's own `read` and
    /// `write` claims are its provider's, not grants of ours). The server's
    /// own tokens name their user in `sub` whatever `user_claim` says.
    pub(super) fn claims(
        &self,
        claims: &Map<String, Value>,
        own_token: bool,
    ) -> Result<super::Claims, String> {
        let user_claim = if own_token { "sub" } else { &self.user_claim };
        let user = match claims.get(user_claim) {
            Some(Value::String(user)) if !user.is_empty() => user.clone(),
            Some(Value::Number(user)) => user.to_string(),
            _ => {
                return Err(format!(
                    "the token names no user (its `{user_claim}` claim)"
                ));
            }
        };
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or_else(|| "the token has no `exp`".to_owned())?;
        let list = |name: &str| -> Vec<String> {
            claims
                .get(name)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (mut read, mut write) = if own_token {
            (list("read"), list("write"))
        } else {
            (Vec::new(), Vec::new())
        };
        for grant in self.grants.iter().filter(|grant| grant.holds(claims)) {
            let into = match grant.access {
                Access::Read => &mut read,
                Access::Write => &mut write,
            };
            for feature in &grant.features {
                if !into.contains(feature) {
                    into.push(feature.clone());
                }
            }
        }
        Ok(super::Claims {
            sub: user,
            exp,
            read,
            write,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapped(mapping: &Mapping, claims: Value) -> Result<super::super::Claims, String> {
        mapping.claims(claims.as_object().unwrap(), false)
    }

    #[test]
    fn grants_parse_and_print() {
        let grant: Grant = "realm_access.roles:admin=write:*".parse().unwrap();
        assert_eq!(
            grant,
            Grant::new("realm_access.roles", "admin", Access::Write, &["*"])
        );
        assert_eq!(grant.to_string(), "realm_access.roles:admin=write:*");
        let scope: Grant = "scp:api://aegis/read=read:budgets, authors"
            .parse()
            .unwrap();
        assert_eq!(
            scope,
            Grant::new(
                "scp",
                "api://aegis/read",
                Access::Read,
                &["budgets", "authors"]
            )
        );
        for bad in [
            "roles",
            "roles:admin",
            "roles:admin=write",
            ":admin=read:*",
            "a..b:x=read:*",
        ] {
            let error = bad.parse::<Grant>().unwrap_err();
            assert!(
                error.contains("expected `<claim>:<value>="),
                "{bad}: {error}"
            );
        }
        let error = "roles:admin=own:*".parse::<Grant>().unwrap_err();
        assert_eq!(
            error,
            "a grant gives `read` or `write`, found `own` in `roles:admin=own:*`"
        );
    }

    #[test]
    fn grants_match_lists_words_and_nested_claims() {
        let mapping = Mapping {
            user_claim: "preferred_username".into(),
            grants: vec![
                "realm_access.roles:editor=write:budgets".parse().unwrap(),
                "scope:aegis.read=read:*".parse().unwrap(),
                "email_verified:true=read:authors".parse().unwrap(),
                "groups:ops=write:*".parse().unwrap(),
            ],
        };
        let claims = mapped(
            &mapping,
            json!({
                "sub": "3f2a", "preferred_username": "alice", "exp": 99,
                "realm_access": { "roles": ["viewer", "editor"] },
                "scope": "openid aegis.read profile",
                "email_verified": true,
                "groups": "operations",
                "read": ["suppliers"],
            }),
        )
        .unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.exp, 99);
        assert_eq!(
            claims.read,
            ["*", "authors"],
            "a provider's `read` claim grants nothing"
        );
        assert_eq!(claims.write, ["budgets"], "`operations` is not `ops`");
        let none = mapped(&mapping, json!({ "preferred_username": "bob", "exp": 1 })).unwrap();
        assert!(none.read.is_empty() && none.write.is_empty());
    }

    #[test]
    fn read_and_write_claims_count_in_the_servers_own_tokens_only() {
        let mapping = Mapping::default();
        let claims = json!({ "sub": "u1", "exp": 9, "read": ["a"], "write": ["*"] });
        let claims = claims.as_object().unwrap();
        let own = mapping.claims(claims, true).unwrap();
        assert_eq!(
            (own.read, own.write),
            (vec!["a".to_owned()], vec!["*".to_owned()])
        );
        let provider = mapping.claims(claims, false).unwrap();
        assert!(provider.read.is_empty() && provider.write.is_empty());
    }

    #[test]
    fn an_email_grant_needs_a_verified_address() {
        let mapping = Mapping {
            user_claim: "email".into(),
            grants: vec!["email:alice@example.com=write:*".parse().unwrap()],
        };
        let token = |verified: Value| {
            let mut claims = json!({ "email": "alice@example.com", "exp": 9 });
            if !verified.is_null() {
                claims["email_verified"] = verified;
            }
            mapped(&mapping, claims).unwrap().write
        };
        assert_eq!(token(json!(true)), ["*"]);
        for unverified in [json!(false), json!("true"), Value::Null] {
            assert!(token(unverified.clone()).is_empty(), "{unverified}");
        }
    }

    #[test]
    fn a_token_must_name_its_user() {
        let mapping = Mapping::default();
        let error = mapped(&mapping, json!({ "exp": 1, "name": "x" })).unwrap_err();
        assert_eq!(error, "the token names no user (its `sub` claim)");
        assert_eq!(
            mapped(&mapping, json!({ "sub": 7, "exp": 1 })).unwrap().sub,
            "7"
        );
    }
}
