//! Tokens from an identity provider: RS256 and ES256 verified with the
//! keys of a JWKS (served here by an in-process axum route that counts its
//! fetches) or of PEM files; key rotation, unknown keys and the bound on
//! fetches, `iss`, `aud`, `exp`, `nbf`, algorithm confusion, and claims
//! mapped to feature permissions over REST and the WebSocket.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aegis::auth::{Auth, AuthBuilder};
use aegis::axum::Json;
use aegis::axum::routing::get;
use aegis::{Aegis, Limits};
use common::client::{Client, Next};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.test/realms/aegis";
const AUDIENCE: &str = "aegis-web";

/// A signing key of the test provider (the PEM files in `tests/keys`,
/// made for these tests alone).
struct Signer {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
}

impl Signer {
    fn rsa(kid: &'static str, file: &str) -> Signer {
        Signer {
            kid,
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(&key_file(file)).unwrap(),
        }
    }

    fn ec(kid: &'static str, file: &str) -> Signer {
        Signer {
            kid,
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(&key_file(file)).unwrap(),
        }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.to_owned());
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }

    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// What a Keycloak access token holds, for `user` with `roles`.
fn keycloak_claims(user: &str, roles: &[&str]) -> Value {
    json!({
        "iss": ISSUER,
        "aud": [AUDIENCE, "account"],
        "sub": format!("f81d4fae-{user}"),
        "preferred_username": user,
        "exp": now() + 300,
        "iat": now(),
        "realm_access": { "roles": roles },
        "scope": "openid profile email",
    })
}

/// The provider's JWKS endpoint: the keys it publishes now, and how many
/// times they were fetched.
#[derive(Clone, Default)]
struct Provider {
    keys: Arc<Mutex<Vec<Jwk>>>,
    discovery: Arc<Mutex<Option<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Provider {
    /// Serves the keys at `/certs`; returns their URL.
    async fn serve(&self) -> String {
        format!("{}/certs", self.serve_at().await)
    }

    /// Serves the keys, and a realm's discovery document at
    /// `/realms/aegis/.well-known/openid-configuration` naming `issuer`
    /// (the realm's own URL when `None`); returns the server's base URL.
    async fn serve_with_discovery(&self, issuer: Option<&str>) -> String {
        let base = self.serve_at().await;
        let realm = format!("{base}/realms/aegis");
        *self.discovery.lock().unwrap() = Some(json!({
            "issuer": issuer.unwrap_or(&realm),
            "jwks_uri": format!("{base}/certs"),
            "authorization_endpoint": format!("{realm}/protocol/openid-connect/auth"),
        }));
        realm
    }

    async fn serve_at(&self) -> String {
        let (keys, discovery) = (self.clone(), self.clone());
        let router = aegis::axum::Router::new()
            .route(
                "/certs",
                get(move || {
                    let provider = keys.clone();
                    async move {
                        provider.fetches.fetch_add(1, Ordering::SeqCst);
                        Json(JwkSet {
                            keys: provider.keys.lock().unwrap().clone(),
                        })
                    }
                }),
            )
            .route(
                "/realms/aegis/.well-known/openid-configuration",
                get(move || {
                    let document = discovery.discovery.lock().unwrap().clone();
                    async move { Json(document) }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { aegis::axum::serve(listener, router).await });
        format!("http://{address}")
    }

    fn publish(&self, signers: &[&Signer]) {
        *self.keys.lock().unwrap() = signers.iter().map(|s| s.jwk()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Verification as a Keycloak realm would be configured.
fn keycloak(url: &str) -> AuthBuilder {
    Auth::builder()
        .jwks_url(url)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .user_claim("preferred_username")
        .grant("realm_access.roles:aegis-admin=write:*".parse().unwrap())
        .grant(
            "realm_access.roles:budget-viewer=read:budgets"
                .parse()
                .unwrap(),
        )
}

/// A change to a token's claims.
type Change = dyn Fn(&mut Value);

async fn rejection(auth: &Auth, token: &str) -> String {
    auth.verify(token).await.unwrap_err().to_string()
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_a_jwks_map_their_roles() {
    let provider = Provider::default();
    let (rsa, ec) = (Signer::rsa("r1", "rsa-1.pem"), Signer::ec("e1", "ec-1.pem"));
    provider.publish(&[&rsa, &ec]);
    let auth = keycloak(&provider.serve().await).build().unwrap();
    assert_eq!(auth.preload().await, Some(Ok(2)));

    let admin = auth
        .verify(&rsa.sign(&keycloak_claims("alice", &["aegis-admin"])))
        .await
        .unwrap();
    assert_eq!(admin.sub, "alice", "the user is `preferred_username`");
    assert!(admin.can_write("budgets") && admin.can_write("authors"));

    let viewer = auth
        .verify(&ec.sign(&keycloak_claims(
            "bob",
            &["budget-viewer", "offline_access"],
        )))
        .await
        .unwrap();
    assert_eq!(viewer.sub, "bob");
    assert!(viewer.can_read("budgets") && !viewer.can_write("budgets"));
    assert!(!viewer.can_read("authors"));

    let nobody = auth
        .verify(&rsa.sign(&keycloak_claims("carol", &[])))
        .await
        .unwrap();
    assert!(!nobody.can_read("budgets"), "no role, no feature");
    assert_eq!(provider.fetches(), 1, "the keys are cached");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_a_withdrawn_one_stops_verifying() {
    let provider = Provider::default();
    let (old, new) = (
        Signer::rsa("2026-01", "rsa-1.pem"),
        Signer::rsa("2026-02", "rsa-2.pem"),
    );
    provider.publish(&[&old]);
    let auth = keycloak(&provider.serve().await)
        .jwks_min_refresh(Duration::ZERO)
        .build()
        .unwrap();
    let claims = keycloak_claims("alice", &["aegis-admin"]);
    auth.verify(&old.sign(&claims)).await.unwrap();
    assert_eq!(provider.fetches(), 1);

    // The provider rotates: the new key signs, the old one is withdrawn.
    provider.publish(&[&new]);
    auth.verify(&new.sign(&claims)).await.unwrap();
    assert_eq!(
        provider.fetches(),
        2,
        "an unknown kid fetches the keys again"
    );
    auth.verify(&new.sign(&claims)).await.unwrap();
    assert_eq!(provider.fetches(), 2);
    assert_eq!(
        rejection(&auth, &old.sign(&claims)).await,
        "the token's signing key `2026-01` is not known"
    );
}

#[tokio::test]
async fn unknown_keys_fetch_at_most_once_per_interval() {
    let provider = Provider::default();
    let known = Signer::rsa("known", "rsa-1.pem");
    provider.publish(&[&known]);
    let interval = Duration::from_secs(2);
    let auth = keycloak(&provider.serve().await)
        .jwks_min_refresh(interval)
        .build()
        .unwrap();
    let claims = keycloak_claims("mallory", &["aegis-admin"]);
    // Signed beforehand: RSA signing is slow in a debug build.
    let forged = Signer::rsa("unused", "rsa-2.pem");
    let tokens: Vec<String> = (0..50)
        .map(|n| forged.sign_as(&format!("made-up-{n}"), &claims))
        .collect();
    auth.verify(&known.sign(&claims)).await.unwrap();
    assert_eq!(provider.fetches(), 1);

    // Fifty tokens with made-up key ids, at once, twice: within the
    // interval of the first fetch the provider is not asked again; after
    // it, once (by the first of them), not fifty times.
    let flood = || futures_util::future::join_all(tokens.iter().map(|token| auth.verify(token)));
    assert!(flood().await.iter().all(Result::is_err));
    assert_eq!(provider.fetches(), 1);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    assert!(flood().await.iter().all(Result::is_err));
    assert_eq!(provider.fetches(), 2);
    // A token of the known key still verifies, without a fetch.
    auth.verify(&known.sign(&claims)).await.unwrap();
    assert_eq!(provider.fetches(), 2);
}

#[tokio::test]
async fn issuer_audience_and_times_are_checked() {
    let provider = Provider::default();
    let signer = Signer::rsa("r1", "rsa-1.pem");
    provider.publish(&[&signer]);
    let auth = keycloak(&provider.serve().await).build().unwrap();
    let with = |change: &Change| {
        let mut claims = keycloak_claims("alice", &["aegis-admin"]);
        change(&mut claims);
        signer.sign(&claims)
    };
    let cases: [(&str, &Change); 7] = [
        ("the token is from another issuer", &|c| {
            c["iss"] = json!("https://evil.test/realms/aegis");
        }),
        ("the token has no `iss`", &|c| {
            c.as_object_mut().unwrap().remove("iss");
        }),
        ("the token is meant for another audience", &|c| {
            c["aud"] = json!("account");
        }),
        ("the token has no `aud`", &|c| {
            c.as_object_mut().unwrap().remove("aud");
        }),
        ("the token has expired", &|c| c["exp"] = json!(now() - 5)),
        ("the token has no `exp`", &|c| {
            c.as_object_mut().unwrap().remove("exp");
        }),
        ("the token is not valid yet (`nbf`)", &|c| {
            c["nbf"] = json!(now() + 120);
        }),
    ];
    for (expected, change) in cases {
        assert_eq!(rejection(&auth, &with(change)).await, expected);
    }
    let no_user = with(&|c| {
        c.as_object_mut().unwrap().remove("preferred_username");
    });
    assert_eq!(
        rejection(&auth, &no_user).await,
        "the token names no user (its `preferred_username` claim)"
    );
    // An `aud` given as one string is accepted as a list of one.
    auth.verify(&with(&|c| c["aud"] = json!(AUDIENCE)))
        .await
        .unwrap();
}

/// Beside a provider (with its issuer and audience), the server's own
/// tokens, which name neither, still pass; a provider's token that lists
/// features in `read` / `write` claims of its own gets nothing from them.
#[tokio::test]
async fn own_tokens_pass_beside_a_provider_whose_own_lists_grant_nothing() {
    let provider = Provider::default();
    let signer = Signer::rsa("r1", "rsa-1.pem");
    provider.publish(&[&signer]);
    let auth = keycloak(&provider.serve().await)
        .secret(common::SECRET)
        .build()
        .unwrap();
    let own = auth
        .issue(&aegis::auth::Claims::new("ops", 60, &[], &["budgets"]))
        .unwrap();
    let verified = auth.verify(&own).await.unwrap();
    assert_eq!(verified.sub, "ops");
    assert!(verified.can_write("budgets"));

    let mut claims = keycloak_claims("mallory", &[]);
    claims["read"] = json!(["*"]);
    claims["write"] = json!(["*"]);
    let verified = auth.verify(&signer.sign(&claims)).await.unwrap();
    assert_eq!(verified.sub, "mallory");
    assert!(!verified.can_read("budgets"), "{verified:?}");
}

#[tokio::test]
async fn a_token_cannot_choose_how_it_is_verified() {
    let provider = Provider::default();
    let (rsa, ec) = (Signer::rsa("r1", "rsa-1.pem"), Signer::ec("e1", "ec-1.pem"));
    provider.publish(&[&rsa, &ec]);
    let url = provider.serve().await;
    let claims = keycloak_claims("mallory", &["aegis-admin"]);

    // HS256 signed with the provider's public key, which anyone can read.
    let public_pem = key_file("rsa-1.pub.pem");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("r1".into());
    let confused =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public_pem)).unwrap();
    let idp_only = keycloak(&url).build().unwrap();
    assert_eq!(
        rejection(&idp_only, &confused).await,
        "HS256 tokens are not accepted here"
    );
    // With a server secret too, HS256 is checked against the secret alone.
    let both = keycloak(&url).secret(b"server secret").build().unwrap();
    assert_eq!(rejection(&both, &confused).await, "the token is not valid");

    // An EC signature presented as RS256 under the RSA key's id.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("r1".into());
    let es = jsonwebtoken::encode(&header, &claims, &ec.key).unwrap();
    let (_, rest) = es.split_once('.').unwrap();
    let relabelled = format!(
        "{}.{rest}",
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &json!({}), &rsa.key)
            .unwrap()
            .split('.')
            .next()
            .unwrap()
    );
    assert_eq!(
        rejection(&idp_only, &relabelled).await,
        "the token is not valid"
    );
    // The EC key's id with RS256: no RSA key has that id.
    assert_eq!(
        rejection(&idp_only, &rsa.sign_as("e1", &claims)).await,
        "the token's signing key `e1` is not known"
    );

    // `alg: none`, unsigned.
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_eq!(rejection(&both, &unsigned).await, "the token is not valid");
}

#[tokio::test]
async fn pem_public_keys_verify_without_a_jwks() {
    let (rsa, ec) = (
        Signer::rsa("any", "rsa-1.pem"),
        Signer::ec("any", "ec-1.pem"),
    );
    let auth = Auth::builder()
        .public_key_pem(&key_file("rsa-1.pub.pem"))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .user_claim("preferred_username")
        .grant("realm_access.roles:editor=write:budgets".parse().unwrap())
        .build()
        .unwrap();
    let mut claims = keycloak_claims("alice", &["editor"]);
    claims["write"] = json!(["authors"]);
    let verified = auth.verify(&rsa.sign(&claims)).await.unwrap();
    assert!(verified.can_write("budgets"), "its grant counts");
    assert!(
        !verified.can_read("authors"),
        "a provider's token's own `write` list does not"
    );
    assert_eq!(
        rejection(&auth, &ec.sign(&claims)).await,
        "the token's signing key `any` is not known"
    );
    let error = Auth::builder()
        .public_key_pem(b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "public key 1: not an RSA or EC public key in PEM"
    );
    assert!(
        Auth::builder()
            .issuer(ISSUER)
            .build()
            .unwrap_err()
            .to_string()
            .starts_with("no key to verify tokens with")
    );
}

/// The provider's tokens over REST and the WebSocket of a real app.
#[tokio::test]
async fn provider_tokens_reach_rest_and_the_websocket() {
    let provider = Provider::default();
    let signer = Signer::rsa("r1", "rsa-1.pem");
    provider.publish(&[&signer]);
    let auth = keycloak(&provider.serve().await).build().unwrap();
    let aegis = Aegis::new(
        aegis::testing::test_database().await,
        auth,
        Limits::default(),
    );
    let app = common::TestApp::on(aegis, common::api()).await;
    let admin = signer.sign(&keycloak_claims("alice", &["aegis-admin"]));
    let viewer = signer.sign(&keycloak_claims("bob", &["budget-viewer"]));

    let created = app
        .call(
            "POST",
            "/api/budgets",
            Some(&admin),
            Some(json!({"name": "Q1", "amount": 10.0, "year": 2026, "approved": false, "note": null})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let listed = app
        .call("GET", "/api/budgets", Some(&viewer), None, &[])
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["total"], 1);
    let refused = app
        .call("DELETE", "/api/budgets/1", Some(&viewer), None, &[])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let anonymous = app
        .call(
            "GET",
            "/api/budgets",
            Some(&signer.sign_as("other", &json!({}))),
            None,
            &[],
        )
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.body["message"],
        "the token's signing key `other` is not known"
    );

    // Bob hears alice's change, named by her username.
    let address = app.serve().await;
    let mut bob = Client::connect(address).await;
    bob.send(json!({"type": "auth", "token": viewer})).await;
    assert_eq!(bob.frame().await, json!({"type": "ready", "userId": "bob"}));
    assert_eq!(bob.subscribe("budgets", None).await["type"], "subscribed");
    let updated = app
        .call(
            "PUT",
            "/api/budgets/1",
            Some(&admin),
            Some(json!({"name": "Q1", "amount": 12.5, "year": 2026, "approved": false, "note": null, "version": 1})),
            &[],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let event = bob.frame().await;
    assert_eq!(event["action"], "updated", "{event}");
    assert_eq!(event["meta"]["userId"], "alice");
    // A token of another issuer closes the connection.
    let mut stranger = Client::connect(address).await;
    let mut claims = keycloak_claims("eve", &["aegis-admin"]);
    claims["iss"] = json!("https://evil.test");
    stranger
        .send(json!({"type": "auth", "token": signer.sign(&claims)}))
        .await;
    assert!(matches!(stranger.next().await, Next::Closed(Some(4401))));
}

/// The shared command line's settings: the issuer alone finds its keys
/// by discovery, and the web app learns how to sign in.
#[tokio::test]
async fn an_issuer_is_enough_to_find_its_keys_and_tell_the_web_app() {
    let provider = Provider::default();
    let signer = Signer::ec("e1", "ec-1.pem");
    provider.publish(&[&signer]);
    let realm = provider.serve_with_discovery(None).await;
    let data = tempfile::tempdir().unwrap();
    let env = |name: &str| match name {
        "AEGIS_DATA_DIR" => Some(data.path().display().to_string()),
        "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
        "AEGIS_OIDC_ISSUER" => Some(realm.clone()),
        "AEGIS_OIDC_CLIENT_ID" => Some("aegis-web".to_owned()),
        "AEGIS_JWT_AUDIENCE" => Some(AUDIENCE.to_owned()),
        "AEGIS_JWT_USER_CLAIM" => Some("preferred_username".to_owned()),
        "AEGIS_JWT_GRANTS" => Some("realm_access.roles:aegis-admin=write:*".to_owned()),
        _ => None,
    };
    let config = aegis::server::Config::resolve(Default::default(), env).unwrap();
    let server = aegis::server::Server::new(common::api());
    let aegis = server.start(&config).await.unwrap();

    let mut claims = keycloak_claims("alice", &["aegis-admin"]);
    claims["iss"] = json!(realm);
    let verified = aegis.auth().verify(&signer.sign(&claims)).await.unwrap();
    assert_eq!(verified.sub, "alice");
    assert!(verified.can_write("budgets"));
    claims["iss"] = json!(ISSUER);
    assert_eq!(
        rejection(aegis.auth(), &signer.sign(&claims)).await,
        "the token is from another issuer"
    );

    let app = server.router(aegis, &config);
    let (_, body) = common::get_from(app, "/api/auth/config", None).await;
    let sign_in: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        sign_in,
        json!({
            "devToken": false,
            "oidc": {"issuer": realm, "clientId": "aegis-web", "scope": "openid profile"},
        })
    );

    // A discovery document naming another issuer is refused at start.
    let other = Provider::default();
    let realm = other
        .serve_with_discovery(Some("https://elsewhere.test"))
        .await;
    let env = |name: &str| match name {
        "AEGIS_DATA_DIR" => Some(data.path().display().to_string()),
        "AEGIS_OIDC_ISSUER" => Some(realm.clone()),
        "AEGIS_JWT_AUDIENCE" => Some(AUDIENCE.to_owned()),
        _ => None,
    };
    let config = aegis::server::Config::resolve(Default::default(), env).unwrap();
    let error = config.auth().await.unwrap_err();
    assert!(
        matches!(error, aegis::server::ServerError::Discovery(_)),
        "{error}"
    );
    let error = error.to_string();
    assert!(
        error.ends_with(&format!(
            "names the issuer `https://elsewhere.test`, not `{realm}`"
        )),
        "{error}"
    );
}
