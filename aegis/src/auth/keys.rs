//! The public keys an identity provider signs with: PEM files given at
//! start, and a JWKS URL whose keys are cached and fetched again when a
//! token names a key not seen yet (a rotation), no more often than a
//! bound, so tokens with made-up key ids cannot flood the provider.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The asymmetric algorithms a provider's token may be signed with.
pub(super) const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// One verification key and the algorithms it verifies.
#[derive(Clone)]
pub(super) struct PublicKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    pub(super) key: DecodingKey,
}

impl PublicKey {
    /// A PEM public key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`),
    /// RSA or P-256/P-384.
    pub(super) fn from_pem(pem: &[u8]) -> Result<PublicKey, String> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(PublicKey {
                kid: None,
                algorithms: ASYMMETRIC[..6].to_vec(),
                key,
            });
        }
        DecodingKey::from_ec_pem(pem)
            .map(|key| PublicKey {
                kid: None,
                algorithms: vec![Algorithm::ES256, Algorithm::ES384],
                key,
            })
            .map_err(|_| "not an RSA or EC public key in PEM".to_owned())
    }

    /// A signing key of a JWKS; `None` for keys of other uses and kinds
    /// (encryption, symmetric, unsupported curves), which never verify.
    fn from_jwk(jwk: &Jwk) -> Option<PublicKey> {
        if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
            return None;
        }
        let family: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => ASYMMETRIC[..6].to_vec(),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return None,
            },
            _ => return None,
        };
        // A key that names its algorithm verifies that one only.
        let algorithms = match jwk.common.key_algorithm {
            Some(named) => family
                .into_iter()
                .filter(|alg| jsonwebtoken::jwk::KeyAlgorithm::from(*alg) == named)
                .collect(),
            None => family,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        (!algorithms.is_empty()).then(|| PublicKey {
            kid: jwk.common.key_id.clone(),
            algorithms,
            key,
        })
    }

    fn verifies(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.algorithms.contains(&alg)
            && match (&self.kid, kid) {
                (Some(own), Some(named)) => own == named,
                _ => true,
            }
    }
}

/// The keys that may verify a token with `alg` and `kid`, in `keys`.
pub(super) fn candidates<'k>(
    keys: &'k [PublicKey],
    alg: Algorithm,
    kid: Option<&'k str>,
) -> impl Iterator<Item = &'k PublicKey> + 'k {
    keys.iter().filter(move |key| key.verifies(alg, kid))
}

/// A JWKS URL's keys, cached.
pub(super) struct Jwks {
    url: String,
    client: Client,
    /// The keys, and when they were last fetched or tried.
    cache: std::sync::RwLock<(Arc<Vec<PublicKey>>, Option<Instant>)>,
    /// Held while fetching: one fetch at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// The least time between two fetches.
    min_refresh: Duration,
    /// Keys older than this are fetched again before use.
    max_age: Duration,
}

/// The HTTP(S) client that reads the provider's documents.
type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<axum::body::Bytes>,
>;

/// The connector of Aegis's outbound HTTP: HTTPS with [`tls`], or plain
/// HTTP (a provider or a collector on the local network).
pub(crate) fn connector()
-> hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector> {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls())
        .https_or_http()
        .enable_http1()
        .build()
}

fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector())
}

/// The largest document read from the provider.
const MAX_DOCUMENT: usize = 1 << 20;

/// GETs `url` and reads its JSON body, within 10 seconds.
async fn get_json<T: serde::de::DeserializeOwned>(client: &Client, url: &str) -> Result<T, String> {
    use http_body_util::BodyExt;
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let fetch = async {
        let response = client.get(uri).await.map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("it answered {status}"));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_DOCUMENT)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| format!("not the JSON expected: {e}"))
    };
    tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| "no answer within 10 s".to_owned())?
}

/// What an OpenID Connect provider's discovery document says of itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Discovery {
    /// The issuer, exactly as its tokens' `iss` names it.
    pub issuer: String,
    /// Where its signing keys are published.
    pub jwks_uri: String,
}

/// Reads `<issuer>/.well-known/openid-configuration`; the document must
/// name the same issuer.
pub async fn discover(issuer: &str) -> Result<Discovery, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let found: Discovery = get_json(&client(), &url)
        .await
        .map_err(|e| format!("cannot read the OpenID Connect discovery document {url}: {e}"))?;
    if found.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(format!(
            "{url} names the issuer `{}`, not `{issuer}`",
            found.issuer
        ));
    }
    Ok(found)
}

impl Jwks {
    pub(super) fn new(url: String, min_refresh: Duration, max_age: Duration) -> Self {
        let client = client();
        Jwks {
            url,
            client,
            cache: std::sync::RwLock::new((Arc::default(), None)),
            refreshing: tokio::sync::Mutex::new(()),
            min_refresh,
            max_age,
        }
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    fn cached(&self) -> (Arc<Vec<PublicKey>>, Option<Instant>) {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The keys that may verify a token with `alg` and `kid`: the cached
    /// ones, fetched again first when none fits or they are old, unless
    /// the last fetch was less than `min_refresh` ago. Tokens of known
    /// keys never wait for a fetch of old keys another token started.
    pub(super) async fn keys_for(&self, alg: Algorithm, kid: Option<&str>) -> Vec<PublicKey> {
        let fits = |keys: &[PublicKey]| candidates(keys, alg, kid).cloned().collect::<Vec<_>>();
        let fresh = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < self.max_age);
        let (keys, at) = self.cached();
        let found = fits(&keys);
        if !found.is_empty() && fresh(at) {
            return found;
        }
        let _refreshing = if found.is_empty() {
            self.refreshing.lock().await
        } else {
            match self.refreshing.try_lock() {
                Ok(guard) => guard,
                Err(_) => return found,
            }
        };
        // Another token may have fetched them while this one waited.
        let (keys, at) = self.cached();
        let found = fits(&keys);
        if (!found.is_empty() && fresh(at)) || at.is_some_and(|at| at.elapsed() < self.min_refresh)
        {
            return found;
        }
        match self.fetch().await {
            Ok(keys) => self.store(keys),
            Err(error) => {
                // The keys held stay in use while the provider is away.
                tracing::warn!("cannot fetch the JWKS at {}: {error}", self.url);
                self.store(keys.to_vec());
            }
        }
        fits(&self.cached().0)
    }

    fn store(&self, keys: Vec<PublicKey>) {
        *self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (Arc::new(keys), Some(Instant::now()));
    }

    /// Fetches the keys now (at start, so a wrong URL shows in the log).
    pub(super) async fn preload(&self) -> Result<usize, String> {
        let _refreshing = self.refreshing.lock().await;
        let keys = self.fetch().await?;
        let count = keys.len();
        self.store(keys);
        Ok(count)
    }

    async fn fetch(&self) -> Result<Vec<PublicKey>, String> {
        let set: JwkSet = get_json(&self.client, &self.url).await?;
        Ok(set.keys.iter().filter_map(PublicKey::from_jwk).collect())
    }
}

/// TLS for outbound HTTPS: rustls with the ring provider (built with the
/// C compiler alone) and the system's trusted roots.
fn tls() -> rustls::ClientConfig {
    use rustls_platform_verifier::BuilderVerifierExt;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_platform_verifier()
        .expect("the system's trusted roots")
        .with_no_client_auth()
}
