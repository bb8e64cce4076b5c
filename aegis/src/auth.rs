//! Bearer JWT auth (HS256): the claims name the features a user may read
//! and write.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What a token says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as events' `meta.userId`.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Features the user may read; `*` for all.
    #[serde(default)]
    pub read: Vec<String>,
    /// Features the user may change (and so read); `*` for all.
    #[serde(default)]
    pub write: Vec<String>,
}

fn names(list: &[String], feature: &str) -> bool {
    list.iter().any(|f| f == "*" || f == feature)
}

impl Claims {
    /// Claims for `user`, valid for `seconds`, with these grants.
    pub fn new(user: impl Into<String>, seconds: u64, read: &[&str], write: &[&str]) -> Self {
        Claims {
            sub: user.into(),
            exp: jsonwebtoken::get_current_timestamp() + seconds,
            read: read.iter().map(|s| (*s).to_owned()).collect(),
            write: write.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    pub fn can_read(&self, feature: &str) -> bool {
        names(&self.read, feature) || self.can_write(feature)
    }

    pub fn can_write(&self, feature: &str) -> bool {
        names(&self.write, feature)
    }
}

/// Issues and verifies tokens with one secret.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { .. }")
    }
}

impl Auth {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // A token that is not valid yet is not valid.
        validation.validate_nbf = true;
        Auth {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("cannot sign a token: {e}")))
    }

    /// The claims of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::Unauthorized("the token has expired".into())
                }
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    Error::Unauthorized("the token is not valid yet (`nbf`)".into())
                }
                _ => Error::Unauthorized("the token is not valid".into()),
            })
    }
}

/// The authenticated user of a request: `Authorization: Bearer <jwt>`.
#[derive(Clone, Debug)]
pub struct User(pub Claims);

impl User {
    pub fn require_read(&self, feature: &str) -> Result<(), Error> {
        if self.0.can_read(feature) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("you may not read `{feature}`")))
        }
    }

    pub fn require_write(&self, feature: &str) -> Result<(), Error> {
        if self.0.can_write(feature) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("you may not change `{feature}`")))
        }
    }

    pub fn id(&self) -> &str {
        &self.0.sub
    }
}

/// A router state that verifies tokens (the runtime's `Aegis` handle), so
/// [`User`] can be extracted from a request.
pub trait HasAuth {
    fn auth(&self) -> &Auth;
}

impl<S: HasAuth + Sync> FromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Error::Unauthorized("missing bearer token".into()))?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            Error::Unauthorized("expected `Authorization: Bearer <token>`".into())
        })?;
        state.auth().verify(token.trim()).map(User)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        let claims = Claims::new("u1", 60, &["authors"], &["budgets"]);
        assert!(claims.can_read("authors") && !claims.can_write("authors"));
        assert!(claims.can_read("budgets") && claims.can_write("budgets"));
        assert!(!claims.can_read("suppliers"));
        let all = Claims::new("admin", 60, &[], &["*"]);
        assert!(all.can_write("anything") && all.can_read("anything"));
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let auth = Auth::new(b"secret");
        let claims = Claims::new("u1", 60, &["*"], &[]);
        let token = auth.issue(&claims).unwrap();
        assert_eq!(auth.verify(&token).unwrap(), claims);
        assert!(Auth::new(b"other").verify(&token).is_err());
        let mut expired = claims.clone();
        expired.exp = jsonwebtoken::get_current_timestamp() - 10;
        let token = auth.issue(&expired).unwrap();
        assert!(
            auth.verify(&token)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
    }
}
