//! Metrics, in Prometheus's text format: requests by route and status,
//! WebSocket connections, subscriptions, deliveries and their lag from the
//! commit, resyncs, the relay's lag and catch-up reads, import rows, REST
//! creates written together or alone, and the database pool. Recorded
//! through the `metrics` facade (nothing is kept until [`install`] sets
//! the recorder), rendered by metrics-exporter-prometheus.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Histogram buckets, in seconds: a millisecond to ten seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same
/// handle) and its upkeep, which drains histograms every 5 s.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("buckets are given")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        let upkeep = handle.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// What the gauges read at a scrape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    pub(crate) connections: usize,
    pub(crate) subscriptions: usize,
    pub(crate) pool_size: u32,
    pub(crate) pool_idle: usize,
}

/// Every series, as Prometheus reads them, the gauges set to `now`;
/// empty before [`install`]. `Aegis::metrics` reads `now` and calls it.
pub(crate) fn render(now: Now) -> String {
    let Some(handle) = HANDLE.get() else {
        return String::new();
    };
    // The gauges are the process's: one scrape sets and renders them at a
    // time, so a runtime's scrape shows its own (tests run several).
    static SCRAPE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = SCRAPE.lock().unwrap_or_else(|e| e.into_inner());
    metrics::gauge!("aegis_ws_connections").set(now.connections as f64);
    metrics::gauge!("aegis_ws_subscriptions").set(now.subscriptions as f64);
    let (size, idle) = (f64::from(now.pool_size), now.pool_idle as f64);
    metrics::gauge!("aegis_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("aegis_db_pool_connections", "state" => "busy").set(size - idle);
    handle.run_upkeep();
    handle.render()
}

/// The methods a request is counted under; any other counts as `other`.
/// A label is never what a client sent: each distinct value is a series
/// kept for the life of the process.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The label of a request's method: one of [`METHODS`], or `other`.
fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

/// One HTTP request answered. `route` is the route's template (or
/// `unmatched`), never a path, so the series are a closed set.
pub(crate) fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let (method, route) = (method_label(method), route.to_owned());
    metrics::counter!(
        "aegis_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "aegis_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(took.as_secs_f64());
}

/// How long ago `committed` was.
fn since(committed: DateTime<Utc>) -> f64 {
    (Utc::now() - committed)
        .to_std()
        .unwrap_or_default()
        .as_secs_f64()
}

/// Events (committed then) written to a subscriber's socket: their lag,
/// whose count is the number of deliveries (there is no separate counter:
/// under fan-out, a second shared atomic per delivery cost 2 % of the
/// hub's CPU). A connection holds one, so that a delivery does not look
/// its metric up by name.
pub(crate) struct Deliveries {
    lag: metrics::Histogram,
}

impl Deliveries {
    pub(crate) fn new() -> Self {
        Deliveries {
            lag: metrics::histogram!("aegis_ws_delivery_lag_seconds"),
        }
    }

    pub(crate) fn delivered(&self, committed: DateTime<Utc>) {
        self.lag.record(since(committed));
    }
}

/// An event sent to a subscriber from the log, for its `since`.
pub(crate) fn replayed() {
    metrics::counter!("aegis_ws_replayed_total").increment(1);
}

/// A subscriber told to reload (`lagging`: the bus overtook it; `gap`).
pub(crate) fn resync(reason: &'static str) {
    metrics::counter!("aegis_ws_resyncs_total", "reason" => reason).increment(1);
}

/// Another instance's event (committed then) published here, read from
/// the event log (`table`: a notification only says there is one).
pub(crate) fn relayed(committed: DateTime<Utc>, from: &'static str) {
    metrics::counter!("aegis_relay_events_total", "from" => from).increment(1);
    metrics::histogram!("aegis_relay_lag_seconds").record(since(committed));
}

/// Rows an import wrote, or failed.
pub(crate) fn import_rows(feature: &'static str, imported: u64, failed: u64) {
    metrics::counter!("aegis_import_rows_total", "feature" => feature, "outcome" => "imported")
        .increment(imported);
    metrics::counter!("aegis_import_rows_total", "feature" => feature, "outcome" => "failed")
        .increment(failed);
}

/// REST creates committed: `together`, in a batch of several
/// ([`crate::creates`]), or `alone`.
pub(crate) fn creates(feature: &'static str, written: &'static str, count: usize) {
    metrics::counter!("aegis_creates_total", "feature" => feature, "written" => written)
        .increment(count as u64);
}

/// How long a write transaction waited for its connection.
pub(crate) fn pool_wait(took: Duration) {
    metrics::histogram!("aegis_db_pool_wait_seconds").record(took.as_secs_f64());
}
