//! The runtime's life: health for probes (`/healthz`, `/readyz`), its
//! metrics' text, and a graceful stop, in which readiness fails at once, every WebSocket is
//! closed with 1012 (clients reconnect at once, to another instance, and
//! resume with `since`) and the imports running here are failed and
//! reported, so no instance shows them running for ever.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::app::Aegis;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// How long `/readyz` waits for the database.
const DATABASE_CHECK: Duration = Duration::from_secs(2);

/// A running piece of work a stop waits for; dropped when it ends.
pub(crate) type Tracked = tokio_util::task::task_tracker::TaskTrackerToken;

impl Aegis {
    /// Begins a graceful stop: `/readyz` answers 503 from now on, every
    /// WebSocket closes with 1012 ("service restart") and the imports
    /// running here stop, failed with their events. See [`Aegis::stopped`].
    pub fn stop(&self) {
        let lifecycle = self.lifecycle();
        if !lifecycle.stopping.is_cancelled() {
            tracing::info!("stopping: closing WebSockets and failing running imports");
            lifecycle.stopping.cancel();
        }
    }

    /// Whether a stop has begun.
    pub fn is_stopping(&self) -> bool {
        self.lifecycle().stopping.is_cancelled()
    }

    /// Resolves when a stop begins.
    pub async fn stopping(&self) {
        self.lifecycle().stopping.cancelled().await;
    }

    /// Waits, at most `within`, until the WebSockets have closed and the
    /// stopped imports are reported; whether they all were.
    pub async fn stopped(&self, within: Duration) -> bool {
        let tasks = &self.lifecycle().tasks;
        tasks.close();
        tokio::time::timeout(within, tasks.wait()).await.is_ok()
    }

    /// Counts a piece of work a stop waits for, until the token drops.
    pub(crate) fn track(&self) -> Tracked {
        self.lifecycle().tasks.token()
    }

    /// Every metric in Prometheus's text format ([`crate::metrics`]), the
    /// gauges read now; empty until [`crate::metrics::install`].
    pub fn metrics(&self) -> String {
        let hub = self.hub();
        let pool = self.db().pool();
        crate::metrics::render(crate::metrics::Now {
            connections: hub.connections(),
            subscriptions: hub.subscriptions(),
            pool_size: pool.size(),
            pool_idle: pool.num_idle(),
        })
    }
}

/// Whether each part a ready instance needs is there: `ok`, or why not.
#[derive(Serialize, Debug)]
struct Health {
    status: &'static str,
    checks: BTreeMap<&'static str, String>,
}

impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let status = if self.status == "ok" {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Json(self)).into_response()
    }
}

/// The process is alive and serving.
async fn alive() -> Health {
    Health {
        status: "ok",
        checks: BTreeMap::new(),
    }
}

/// The instance may take traffic: the database answers, the tables are
/// installed, on PostgreSQL the relay listens, and no stop has begun.
async fn ready(axum::extract::State(aegis): axum::extract::State<Aegis>) -> Health {
    let mut checks = BTreeMap::new();
    let database = tokio::time::timeout(
        DATABASE_CHECK,
        sqlx::query("SELECT 1").execute(aegis.db().pool()),
    )
    .await;
    checks.insert(
        "database",
        match database {
            Ok(Ok(_)) => "ok".to_owned(),
            // Anyone may ask: the driver's words (host names, users)
            // go to the log.
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database is unreachable");
                "unreachable".to_owned()
            }
            Err(_) => format!("no answer within {} s", DATABASE_CHECK.as_secs()),
        },
    );
    let installed = aegis.lifecycle().installed.load(Ordering::SeqCst);
    checks.insert(
        "schema",
        if installed { "ok" } else { "not installed yet" }.to_owned(),
    );
    if let Some(listening) = aegis.relay_listening() {
        checks.insert(
            "relay",
            if listening { "ok" } else { "not listening" }.to_owned(),
        );
    }
    checks.insert(
        "stopping",
        if aegis.is_stopping() {
            "stopping"
        } else {
            "ok"
        }
        .to_owned(),
    );
    let status = if checks.values().all(|check| check == "ok") {
        "ok"
    } else {
        "unavailable"
    };
    Health { status, checks }
}

/// `GET /healthz` (alive) and `GET /readyz` (ready for traffic): 200 or
/// 503 with `{status, checks}`, without a token, for probes.
pub(crate) fn router() -> Router<Aegis> {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
}
