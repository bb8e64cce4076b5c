//! The runtime's limits: sizes, rates and ages, with defaults.

/// Limits, with defaults fit for the example app.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest CSV an import takes, in bytes.
    pub import_bytes: usize,
    /// Rows inserted per transaction during an import.
    pub import_batch: usize,
    /// Row errors an import keeps.
    pub import_errors: usize,
    /// Import jobs kept for `GET /import/{jobId}` (in the database, so every
    /// instance answers for every job); a new job makes room by forgetting
    /// the oldest finished ones.
    pub import_jobs: usize,
    /// Import jobs one user may run at once, per instance; one more is
    /// answered 429.
    pub imports_per_user: usize,
    /// The largest page a list serves.
    pub max_page_size: u32,
    /// The longest search text (`q`), in characters; a longer one is a 400.
    pub max_search_chars: usize,
    /// CSV exports this instance streams at once (each holds a read
    /// snapshot while its client downloads); one more is answered 429.
    pub exports: usize,
    /// Rows one bulk delete may delete (in one transaction, which holds
    /// the database's writer meanwhile); a larger one is a 400.
    pub bulk_delete_rows: usize,
    /// Events a WebSocket connection may fall behind before it is told to
    /// resync: the event bus's capacity, and the events a connection whose
    /// socket is full may have held for it (shared, not copied).
    pub event_backlog: usize,
    /// Events a `subscribe` with `since` replays at most; a larger gap is a resync.
    pub replay_limit: u64,
    /// The largest WebSocket frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// How long a new connection has to authenticate.
    pub auth_timeout: std::time::Duration,
    /// How often the server pings an idle connection.
    pub ping_interval: std::time::Duration,
    /// A connection silent this long is closed.
    pub idle_timeout: std::time::Duration,
    /// On PostgreSQL, how often an instance checks the event table for
    /// events it has not heard of (a notification lost with its
    /// connection); see the `relay` module.
    pub relay_sweep: std::time::Duration,
    /// How long a WebSocket connection waits for the event log while the
    /// database is away (restarting) before giving up: a `subscribe`
    /// answered with an `internal` error (the feature left unsubscribed),
    /// or, for a gap in live events, a `resync`.
    pub event_log_patience: std::time::Duration,
    /// Events the log keeps per feature (`None`: all). Keep it at least
    /// `replay_limit`, so that what a client may replay is still there.
    pub event_retention: Option<u64>,
    /// Events older than this are pruned from the log (`None`: kept
    /// whatever their age, within `event_retention`).
    pub event_max_age: Option<std::time::Duration>,
    /// Finished import jobs older than this are forgotten.
    pub import_job_max_age: std::time::Duration,
    /// How often the log and the import jobs are pruned.
    pub prune_interval: std::time::Duration,
    /// Rows a pruning statement deletes at most.
    pub prune_batch: u64,
    /// How long a graceful stop lets requests in flight, closing
    /// WebSockets and stopped imports finish before the process ends.
    pub shutdown_grace: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            import_bytes: 64 * 1024 * 1024,
            import_batch: 500,
            import_errors: 100,
            import_jobs: 256,
            imports_per_user: 2,
            max_page_size: 200,
            max_search_chars: 200,
            exports: 2,
            bulk_delete_rows: 1_000,
            event_backlog: 4096,
            replay_limit: 10_000,
            max_frame_bytes: 64 * 1024,
            auth_timeout: std::time::Duration::from_secs(5),
            ping_interval: std::time::Duration::from_secs(20),
            idle_timeout: std::time::Duration::from_secs(60),
            relay_sweep: std::time::Duration::from_secs(2),
            event_log_patience: std::time::Duration::from_secs(10),
            event_retention: Some(100_000),
            event_max_age: None,
            import_job_max_age: std::time::Duration::from_secs(7 * 24 * 3600),
            prune_interval: std::time::Duration::from_secs(30),
            prune_batch: 1_000,
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}
