//! The runtime's limits: sizes, rates and ages, with defaults.

/// Limits, with defaults fit for the example app.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest CSV an import takes, in bytes; it is streamed to a
    /// temporary file as it arrives, never held in memory.
    pub import_bytes: usize,
    /// The bytes all the uploads of this instance's imports may take
    /// together, claimed before a body is read (its `Content-Length`, or
    /// [`Limits::import_bytes`] when it gives none) and held while its job
    /// runs; an upload past it is answered 503.
    pub import_bytes_in_flight: usize,
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
    /// Filters one view may have (`<field>.<op>=`); more is a 400.
    pub max_filters: usize,
    /// The most characters a view's texts to find may have together (`q`
    /// and every `contains`): finding text costs the text's length times
    /// the pattern's, row by row; more is a 400.
    pub max_pattern_chars: usize,
    /// Reads of views (a list's page and total, a bulk delete's selection)
    /// one user runs at once, per instance; more wait their turn, within
    /// their time (then 503): a user's costly reads take one connection
    /// and one core at a time, never every one reads run on. A read that
    /// ran until the statement timeout keeps its turn as long again, so
    /// costly reads sent one after another have the database for half the
    /// time at most. (Exports have places of their own,
    /// [`Limits::exports_per_user`].)
    pub reads_per_user: usize,
    /// How long one database statement may run: on PostgreSQL every
    /// statement of a request's transaction (`statement_timeout`), and on
    /// both databases a view's reads (a list's total and page, the rows a
    /// bulk delete selects). Past it the statement is stopped, its
    /// connection freed, and the request answered 503 with `Retry-After`.
    pub statement_timeout: std::time::Duration,
    /// CSV exports this instance streams at once (each holds a read
    /// snapshot while its client downloads); one more is answered 429.
    pub exports: usize,
    /// CSV exports one user may stream at once, per instance; one more is
    /// answered 429.
    pub exports_per_user: usize,
    /// How long an export may wait for its client to take the next chunk
    /// (64 KiB) before it is ended: a client that stops reading frees its
    /// place and its snapshot.
    pub export_send_timeout: std::time::Duration,
    /// How long an export's snapshot may be read, in all; the export ends
    /// there (its client sees a cut download).
    pub export_max_time: std::time::Duration,
    /// Rows one bulk delete may delete (in one transaction, which holds
    /// the database's writer meanwhile); a larger one is a 400.
    pub bulk_delete_rows: usize,
    /// Rows of other modules one delete may change through references
    /// (`cascade` deletes, `set_null` emptied fields, all the way down);
    /// more is a 409 naming this bound, and nothing is changed.
    pub cascade_rows: usize,
    /// Events a WebSocket connection may fall behind before it is told to
    /// resync: the event bus's capacity, and the events a connection whose
    /// socket is full may have held for it (shared, not copied).
    pub event_backlog: usize,
    /// Events a `subscribe` with `since` replays at most; a larger gap is a resync.
    pub replay_limit: u64,
    /// The bytes of frames a `subscribe` with `since` replays at most (read
    /// and written a page at a time); a larger replay is a resync.
    pub replay_bytes: usize,
    /// How long a write to a WebSocket may wait for its client to take the
    /// bytes; past it the connection ends, so a client that stops reading
    /// holds nothing for long.
    pub socket_write_timeout: std::time::Duration,
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
    /// Rows' history entries older than this are pruned (`None`: every
    /// entry is kept). Independent of the event log's retention.
    pub history_max_age: Option<std::time::Duration>,
    /// Finished import jobs older than this are forgotten.
    pub import_job_max_age: std::time::Duration,
    /// How often the log and the import jobs are pruned.
    pub prune_interval: std::time::Duration,
    /// Rows a pruning statement deletes at most.
    pub prune_batch: u64,
    /// How long an uploaded file no row holds is kept (a form has this
    /// long to save what it uploaded); past it, collection deletes it.
    pub file_grace: std::time::Duration,
    /// File uploads streaming at once on this instance.
    pub uploads: usize,
    /// File uploads one user may stream at once.
    pub uploads_per_user: usize,
    /// How long a graceful stop lets requests in flight, closing
    /// WebSockets and stopped imports finish before the process ends.
    pub shutdown_grace: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            import_bytes: 64 * 1024 * 1024,
            import_bytes_in_flight: 256 * 1024 * 1024,
            import_batch: 500,
            import_errors: 100,
            import_jobs: 256,
            imports_per_user: 2,
            max_page_size: 200,
            max_search_chars: 200,
            max_filters: 20,
            max_pattern_chars: 200,
            reads_per_user: 1,
            statement_timeout: std::time::Duration::from_secs(5),
            exports: 2,
            exports_per_user: 1,
            export_send_timeout: std::time::Duration::from_secs(30),
            export_max_time: std::time::Duration::from_secs(600),
            bulk_delete_rows: 1_000,
            cascade_rows: 1_000,
            event_backlog: 4096,
            replay_limit: 10_000,
            replay_bytes: 8 * 1024 * 1024,
            socket_write_timeout: std::time::Duration::from_secs(10),
            max_frame_bytes: 64 * 1024,
            auth_timeout: std::time::Duration::from_secs(5),
            ping_interval: std::time::Duration::from_secs(20),
            idle_timeout: std::time::Duration::from_secs(60),
            relay_sweep: std::time::Duration::from_secs(2),
            event_log_patience: std::time::Duration::from_secs(10),
            event_retention: Some(100_000),
            event_max_age: None,
            history_max_age: None,
            import_job_max_age: std::time::Duration::from_secs(7 * 24 * 3600),
            prune_interval: std::time::Duration::from_secs(30),
            prune_batch: 1_000,
            file_grace: std::time::Duration::from_secs(3600),
            uploads: 8,
            uploads_per_user: 2,
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}
