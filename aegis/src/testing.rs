//! Driving an app's real router in tests: an in-memory SQLite, tokens, a
//! request helper and the event bus. The tests aegis-build generates use
//! it, so an app's test target needs no other dependency.

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::Row;
use tokio::sync::broadcast;
use tower::ServiceExt;

use crate::auth::{Auth, Claims};
use crate::log::StoredEvent;
use crate::store::Db;
use crate::{Aegis, Api, Limits};

/// What [`TestApp::events`] hands out: every event the app publishes.
pub type EventReceiver = broadcast::Receiver<std::sync::Arc<StoredEvent>>;

/// The secret test tokens are signed with.
pub const SECRET: &[u8] = b"aegis test secret";

/// Runs a test's async body on a fresh single-threaded runtime.
pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Where tests keep their data: a private in-memory SQLite, or, when
/// `AEGIS_TEST_DATABASE_URL` names a PostgreSQL server, a fresh database
/// created on it for this test alone.
pub async fn test_database() -> Db {
    match fresh_postgres_database().await {
        Some(url) => Db::connect(&url).await.expect("the fresh test database"),
        None => Db::in_memory().await.expect("an in-memory SQLite database"),
    }
}

/// When `AEGIS_TEST_DATABASE_URL` names a PostgreSQL server, the URL of a
/// fresh database created on it (for tests of several instances sharing
/// one); `None` otherwise.
pub async fn fresh_postgres_database() -> Option<String> {
    let url = std::env::var("AEGIS_TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))?;
    // Named with the time it was made, so that a later run can tell an
    // old one from one that a test running beside it uses.
    let now = seconds_now();
    let name = format!("{TEST_DATABASE}{now}_{}", uuid::Uuid::new_v4().simple());
    let admin = Db::connect_only(&url)
        .await
        .expect("the test PostgreSQL server");
    SWEPT
        .get_or_init(|| drop_old_test_databases(&admin, now))
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .expect("a test database");
    admin.pool().close().await;
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let separator = if query.is_empty() { "" } else { "?" };
    Some(format!("{server}/{name}{separator}{query}"))
}

/// The start of the name of every database [`fresh_postgres_database`]
/// makes; the time it was made follows, in seconds since 1970.
const TEST_DATABASE: &str = "aegis_test_";

/// Seconds since 1970.
fn seconds_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Whether this process has dropped the test databases earlier runs left.
static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the test databases made more than an hour before `now`: nothing
/// else drops them, and a test server would fill its disk run after run.
/// One that cannot be dropped (in use) is left for the next run.
async fn drop_old_test_databases(admin: &Db, now: u64) {
    let Ok(rows) = sqlx::query("SELECT datname::text FROM pg_database")
        .fetch_all(admin.pool())
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else {
            continue;
        };
        let made = name
            .strip_prefix(TEST_DATABASE)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(made, _)| made.parse::<u64>().ok());
        if made.is_some_and(|made| made + 3600 < now) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(admin.pool())
                .await;
        }
    }
}

/// A response: status, body text, and the body as JSON (`Null` if it is not).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as it came, for what is not text.
    pub bytes: Vec<u8>,
}

/// An app's API on a private in-memory database.
#[derive(Debug)]
pub struct TestApp {
    pub aegis: Aegis,
    router: Router,
}

impl TestApp {
    pub async fn new(api: Api) -> TestApp {
        TestApp::with_limits(api, Limits::default()).await
    }

    pub async fn with_limits(api: Api, limits: Limits) -> TestApp {
        let db = test_database().await;
        TestApp::on(Aegis::new(db, Auth::new(SECRET), limits), api).await
    }

    /// An app's API on a runtime of your own (whose auth uses [`SECRET`]).
    pub async fn on(aegis: Aegis, api: Api) -> TestApp {
        api.install(&aegis).await.expect("the modules' tables");
        let router = api.router().with_state(aegis.clone());
        TestApp { aegis, router }
    }

    /// A token for `user` with these grants, valid for ten minutes.
    pub fn token(&self, user: &str, read: &[&str], write: &[&str]) -> String {
        Auth::new(SECRET)
            .issue(&Claims::new(user, 600, read, write))
            .expect("a token")
    }

    /// A token for user `u1` that may change every feature.
    pub fn admin(&self) -> String {
        self.token("u1", &[], &["*"])
    }

    /// Serves the router on a free loopback port (for WebSocket clients);
    /// the server runs until the test's runtime ends.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("its address");
        let router = self.router.clone();
        tokio::spawn(async move {
            axum::serve(crate::nodelay(listener), router)
                .await
                .expect("the test server");
        });
        address
    }

    /// Every event committed from now on.
    /// Drops a module's table behind the runtime's back, so that its
    /// writes fail: how a test sees what a broken database does.
    pub async fn drop_table(&self, module: &str) {
        let db = self.aegis.db();
        sqlx::query(&format!("DROP TABLE {}", db.ident(module)))
            .execute(db.pool())
            .await
            .expect("the table drops");
    }

    pub fn events(&self) -> EventReceiver {
        self.aegis.bus().subscribe()
    }

    /// Sends a request to the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// A request with an optional bearer token, JSON body and extra headers.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match json {
            Some(value) => {
                request = request.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a request")).await
    }

    /// Uploads `bytes` as a file named `name` to a file field of a
    /// feature (`POST /api/<feature>/files/<field>`), as the admin.
    pub async fn upload(&self, feature: &str, field: &str, name: &str, bytes: &[u8]) -> Reply {
        let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let request = Request::builder()
            .method("POST")
            .uri(format!("/api/{feature}/files/{field}?name={name}"))
            .header("authorization", format!("Bearer {}", self.admin()))
            .header("content-type", "application/octet-stream")
            .body(Body::from(bytes.to_vec()))
            .expect("a request");
        self.send(request).await
    }

    /// Posts a CSV file to a feature's import, as the admin.
    pub async fn import(&self, feature: &str, csv: &str, dry_run: bool) -> Reply {
        let request = Request::builder()
            .method("POST")
            .uri(format!("/api/{feature}/import?dryRun={dry_run}"))
            .header("authorization", format!("Bearer {}", self.admin()))
            .header("content-type", "text/csv")
            .body(Body::from(csv.to_owned()))
            .expect("a request");
        self.send(request).await
    }

    /// Waits (at most 10 s) for an import job to finish; returns its status.
    pub async fn finished_job(&self, feature: &str, job: &str) -> Value {
        let admin = self.admin();
        for _ in 0..1000 {
            let reply = self
                .call(
                    "GET",
                    &format!("/api/{feature}/import/{job}"),
                    Some(&admin),
                    None,
                    &[],
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            if reply.body["state"] != "running" {
                return reply.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("import job {job} did not finish in 10 s");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn databases(admin: &Db) -> Vec<String> {
        let rows = sqlx::query("SELECT datname::text FROM pg_database")
            .fetch_all(admin.pool())
            .await
            .unwrap();
        rows.iter().map(|row| row.try_get(0).unwrap()).collect()
    }

    /// Test databases over an hour old are dropped; a newer one (a test
    /// running beside) and any other database stay.
    #[tokio::test]
    async fn test_databases_over_an_hour_old_are_dropped() {
        let Ok(url) = std::env::var("AEGIS_TEST_DATABASE_URL") else {
            return;
        };
        let admin = Db::connect_only(&url).await.unwrap();
        // The time now: test databases other tests are using stay.
        let now = seconds_now();
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let old = format!("{TEST_DATABASE}{}_{tag}", now - 3601);
        let new = format!("{TEST_DATABASE}{}_{tag}", now - 3599);
        let other = format!("kept_{tag}");
        for name in [&old, &new, &other] {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .unwrap();
        }
        drop_old_test_databases(&admin, now).await;
        let left = databases(&admin).await;
        assert!(!left.contains(&old), "{old} is dropped");
        assert!(left.contains(&new) && left.contains(&other), "{left:?}");
        for name in [&new, &other] {
            sqlx::query(&format!("DROP DATABASE {name}"))
                .execute(admin.pool())
                .await
                .unwrap();
        }
    }
}
