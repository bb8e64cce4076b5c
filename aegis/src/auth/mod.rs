//! Bearer JWT auth: a token's claims name its user and the features it
//! may read and write: in the token itself (`read`, `write`) when it is
//! one of the server's own HS256 tokens, or mapped from an identity
//! provider's claims by [`Grant`]s (a provider's `read` and `write`
//! claims mean nothing here: the provider does not know them as ours).

mod grants;
pub(crate) mod keys;

#[cfg(feature = "otel")]
pub(crate) use keys::connector;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
pub use grants::{Access, Grant};
pub use keys::{Discovery, discover};

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
            exp: jsonwebtoken::get_current_timestamp().saturating_add(seconds),
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

/// Verifies bearer tokens: HS256 with the server's secret (which also
/// issues them), and RS256/ES256 (and the other RSA and P-384 algorithms)
/// with an identity provider's public keys, from PEM or a JWKS URL. Each
/// token is checked against the keys of its own algorithm only, so a
/// token cannot choose how it is verified. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Verifier>,
}

struct Verifier {
    secret: Option<(EncodingKey, DecodingKey)>,
    pem_keys: Vec<keys::PublicKey>,
    jwks: Option<keys::Jwks>,
    issuer: Option<String>,
    audience: Vec<String>,
    leeway: u64,
    mapping: grants::Mapping,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Auth")
            .field("secret", &inner.secret.is_some())
            .field("pem_keys", &inner.pem_keys.len())
            .field("jwks", &inner.jwks.as_ref().map(keys::Jwks::url))
            .field("issuer", &inner.issuer)
            .field("audience", &inner.audience)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Auth`]: [`Auth::builder`].
#[derive(Debug)]
pub struct AuthBuilder {
    secret: Option<Vec<u8>>,
    pem_keys: Vec<Vec<u8>>,
    jwks_url: Option<String>,
    jwks_min_refresh: Duration,
    jwks_max_age: Duration,
    issuer: Option<String>,
    audience: Vec<String>,
    leeway: u64,
    mapping: grants::Mapping,
}

impl AuthBuilder {
    /// Verify (and issue) HS256 tokens signed with this secret.
    pub fn secret(mut self, secret: &[u8]) -> Self {
        self.secret = Some(secret.to_vec());
        self
    }

    /// Verify tokens signed by the private half of this PEM public key
    /// (RSA, or EC P-256/P-384); repeatable.
    pub fn public_key_pem(mut self, pem: &[u8]) -> Self {
        self.pem_keys.push(pem.to_vec());
        self
    }

    /// Verify tokens with the keys published at this JWKS URL (an
    /// identity provider's `jwks_uri`).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The least time between two fetches of the JWKS (default 30 s):
    /// a token naming an unknown key fetches it again at most this often.
    pub fn jwks_min_refresh(mut self, every: Duration) -> Self {
        self.jwks_min_refresh = every;
        self
    }

    /// How long fetched keys are used before being fetched again
    /// (default 1 hour), so a withdrawn key stops verifying.
    pub fn jwks_max_age(mut self, age: Duration) -> Self {
        self.jwks_max_age = age;
        self
    }

    /// Accept only tokens whose `iss` is this.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accept only tokens whose `aud` names one of these (repeatable).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Seconds of clock difference forgiven on `exp` and `nbf` (default 0).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// The claim whose value is the user id (default `sub`), as events'
    /// `meta.userId` and stamped `created_by` fields show it.
    pub fn user_claim(mut self, claim: impl Into<String>) -> Self {
        self.mapping.user_claim = claim.into();
        self
    }

    /// Give the features of `grant` to tokens holding its claim value.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.mapping.grants.push(grant);
        self
    }

    /// The verifier; an error when a PEM key cannot be read or no key
    /// is given at all.
    pub fn build(self) -> Result<Auth, Error> {
        let pem_keys = self
            .pem_keys
            .iter()
            .enumerate()
            .map(|(index, pem)| {
                keys::PublicKey::from_pem(pem)
                    .map_err(|e| Error::Internal(format!("public key {}: {e}", index + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.secret.is_none() && pem_keys.is_empty() && self.jwks_url.is_none() {
            return Err(Error::Internal(
                "no key to verify tokens with: give a secret, a public key or a JWKS URL".into(),
            ));
        }
        Ok(Auth {
            inner: Arc::new(Verifier {
                secret: self.secret.map(|secret| {
                    (
                        EncodingKey::from_secret(&secret),
                        DecodingKey::from_secret(&secret),
                    )
                }),
                pem_keys,
                jwks: self
                    .jwks_url
                    .map(|url| keys::Jwks::new(url, self.jwks_min_refresh, self.jwks_max_age)),
                issuer: self.issuer,
                audience: self.audience,
                leeway: self.leeway,
                mapping: self.mapping,
            }),
        })
    }
}

impl Auth {
    /// Issues and verifies HS256 tokens with one secret.
    pub fn new(secret: &[u8]) -> Self {
        Auth::builder()
            .secret(secret)
            .build()
            .expect("a secret is a key")
    }

    /// An empty configuration: add a secret, public keys or a JWKS URL.
    pub fn builder() -> AuthBuilder {
        AuthBuilder {
            secret: None,
            pem_keys: Vec::new(),
            jwks_url: None,
            jwks_min_refresh: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(3600),
            issuer: None,
            audience: Vec::new(),
            leeway: 0,
            mapping: grants::Mapping::default(),
        }
    }

    /// Whether this auth can sign tokens (it has a secret).
    pub fn can_issue(&self) -> bool {
        self.inner.secret.is_some()
    }

    /// An HS256 token of `claims`, signed with the secret.
    pub fn issue(&self, claims: &Claims) -> Result<String, Error> {
        let (encoding, _) = self.inner.secret.as_ref().ok_or_else(|| {
            Error::Internal(
                "no secret to sign tokens with: tokens come from the identity provider".into(),
            )
        })?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, encoding)
            .map_err(|e| Error::Internal(format!("cannot sign a token: {e}")))
    }

    /// Fetches the JWKS now, if there is one: its key count, or why not.
    pub async fn preload(&self) -> Option<Result<usize, String>> {
        match &self.inner.jwks {
            Some(jwks) => Some(jwks.preload().await),
            None => None,
        }
    }

    /// The claims of a valid token: signed by a key of its algorithm,
    /// unexpired, valid already, from the configured issuer for the
    /// configured audience, naming its user.
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let unauthorized = |message: &str| Error::Unauthorized(message.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthorized("the token is not valid"))?;
        let inner = &self.inner;
        let keys: Vec<DecodingKey> = match header.alg {
            Algorithm::HS256 => match &inner.secret {
                Some((_, key)) => vec![key.clone()],
                None => return Err(unauthorized("HS256 tokens are not accepted here")),
            },
            alg if keys::ASYMMETRIC.contains(&alg) => {
                let kid = header.kid.as_deref();
                let mut found: Vec<DecodingKey> = keys::candidates(&inner.pem_keys, alg, kid)
                    .map(|key| key.key.clone())
                    .collect();
                if let Some(jwks) = &inner.jwks {
                    found.extend(jwks.keys_for(alg, kid).await.into_iter().map(|key| key.key));
                }
                if found.is_empty() {
                    return Err(Error::Unauthorized(match kid {
                        Some(kid) => format!("the token's signing key `{kid}` is not known"),
                        None => format!("no key here verifies {alg:?} tokens"),
                    }));
                }
                found
            }
            alg => {
                return Err(Error::Unauthorized(format!(
                    "tokens signed with {alg:?} are not accepted here"
                )));
            }
        };
        let validation = self.validation(header.alg);
        let mut last = None;
        for key in &keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => {
                    return inner
                        .mapping
                        .claims(&data.claims, header.alg == Algorithm::HS256)
                        .map_err(Error::Unauthorized);
                }
                Err(error) => last = Some(error),
            }
        }
        Err(match last.as_ref().map(jsonwebtoken::errors::Error::kind) {
            Some(ErrorKind::ExpiredSignature) => unauthorized("the token has expired"),
            Some(ErrorKind::ImmatureSignature) => {
                unauthorized("the token is not valid yet (`nbf`)")
            }
            Some(ErrorKind::InvalidIssuer) => unauthorized("the token is from another issuer"),
            Some(ErrorKind::InvalidAudience) => {
                unauthorized("the token is meant for another audience")
            }
            Some(ErrorKind::MissingRequiredClaim(claim)) => {
                Error::Unauthorized(format!("the token has no `{claim}`"))
            }
            _ => unauthorized("the token is not valid"),
        })
    }

    /// What a token of `alg` must hold: an expiry, and, from the identity
    /// provider (any algorithm but the server's own HS256), its issuer and
    /// audience when configured.
    fn validation(&self, alg: Algorithm) -> Validation {
        let inner = &self.inner;
        let own = alg == Algorithm::HS256;
        let mut validation = Validation::new(alg);
        validation.leeway = inner.leeway;
        // A token that is not valid yet is not valid.
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &inner.issuer {
            Some(issuer) if !own => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            _ => validation.iss = None,
        }
        if own || inner.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&inner.audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation
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
        state.auth().verify(token.trim()).await.map(User)
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

    #[tokio::test]
    async fn tokens_round_trip_and_expire() {
        let auth = Auth::new(b"secret");
        let claims = Claims::new("u1", 60, &["*"], &[]);
        let token = auth.issue(&claims).unwrap();
        assert_eq!(auth.verify(&token).await.unwrap(), claims);
        assert!(Auth::new(b"other").verify(&token).await.is_err());
        let mut expired = claims.clone();
        expired.exp = jsonwebtoken::get_current_timestamp() - 10;
        let token = auth.issue(&expired).unwrap();
        assert!(
            auth.verify(&token)
                .await
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
    }
}
