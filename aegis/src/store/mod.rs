//! Storage on sqlx: SQLite embedded by default, PostgreSQL when the URL
//! says so, behind one `Any` pool. The modules' tables are brought to their
//! models at start by [`crate::schema`]; Aegis's own tables — the event
//! log, the per-feature counters, the import jobs and the schema record —
//! are made by [`Db::connect`].
//!
//! An entity is stored one column per field (its Rust name), converted
//! through its serde JSON: integers as BIGINT, floats as DOUBLE PRECISION,
//! booleans as BOOLEAN (INTEGER 0/1 on SQLite), strings and what serialises
//! as a string as TEXT, anything else as its JSON text.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row, SqlitePool, Transaction};

use crate::entity::{FieldKind, FieldMeta, ModuleMeta};
use crate::error::Error;

pub(crate) mod values;

/// The column type of bytes.
fn bytes_type(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "BLOB",
        Dialect::Postgres => "BYTEA",
    }
}

/// Aegis's tables for files, made with the others:
/// one row per stored content, its chunks when the database keeps the
/// bytes, and which row's field refers to which file. On PostgreSQL a
/// reference's foreign key keeps a file from being collected under a
/// transaction that is taking it (SQLite's one writer does the same).
fn file_tables(dialect: Dialect) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS aegis_files (\
            id TEXT PRIMARY KEY, \
            size BIGINT NOT NULL, \
            content_type TEXT NOT NULL, \
            chunks BIGINT NOT NULL, \
            uploaded_ms BIGINT NOT NULL)"
            .to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS aegis_file_chunks (\
                file_id TEXT NOT NULL, \
                n BIGINT NOT NULL, \
                data {} NOT NULL, \
                PRIMARY KEY (file_id, n))",
            bytes_type(dialect)
        ),
        "CREATE TABLE IF NOT EXISTS aegis_file_refs (\
            feature TEXT NOT NULL, \
            field TEXT NOT NULL, \
            row_id TEXT NOT NULL, \
            file_id TEXT NOT NULL REFERENCES aegis_files (id), \
            PRIMARY KEY (feature, field, row_id))"
            .to_owned(),
        "CREATE INDEX IF NOT EXISTS aegis_file_refs_file ON aegis_file_refs (file_id)".to_owned(),
    ]
}

/// Which SQL the database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database.
///
/// SQLite (a file) runs in WAL mode with one writer connection, which
/// serialises writes as SQLite does anyway, and a pool of read-only
/// connections, so reads never wait behind a write (an import's batch,
/// say). An in-memory SQLite is one connection for both. PostgreSQL has
/// one pool for both.
#[derive(Clone)]
pub struct Db {
    /// Writes, and reads inside a write's transaction.
    pool: AnyPool,
    /// Reads on their own.
    reader: AnyPool,
    /// On a SQLite file, the read-only connections a view's reads run on
    /// ([`crate::reads`]): native ones, since a statement past its time
    /// can be stopped only through the native connection (sqlx's `Any`
    /// ones give no way to it).
    views: Option<SqlitePool>,
    /// How long a statement may run ([`crate::Limits::statement_timeout`];
    /// set by [`crate::Aegis::new`]), on PostgreSQL and a view's reads.
    statement_timeout: Option<Duration>,
    dialect: Dialect,
    /// For the connections the pool does not make (PostgreSQL's LISTEN).
    url: Arc<str>,
    /// This process's name among the instances sharing the database.
    instance: Arc<str>,
}

impl std::fmt::Debug for Db {
    // Not the URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dialect", &self.dialect)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

pub type Tx = Transaction<'static, Any>;

/// `read`, tried again until it succeeds or `patience` has passed (after
/// 100 ms, then twice as long each time, up to 2 s): the database may be
/// away for a moment, restarting. Past that, the last error.
pub(crate) async fn patiently<T, F>(
    patience: std::time::Duration,
    read: impl Fn() -> F,
) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match read().await {
            Err(error) if started.elapsed() < patience => {
                tracing::debug!(%error, "cannot reach the database yet; trying again");
                tokio::time::sleep(wait.min(patience)).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(2));
            }
            done => return done,
        }
    }
}

/// The column that holds a row's searchable text in Unicode lower case
/// (see [`search_text`]), kept by the runtime on every write.
pub const SEARCH_COLUMN: &str = "aegis_search";

/// The fields `q` searches: text that is sent to the front end.
pub(crate) fn searchable(meta: &ModuleMeta) -> impl Iterator<Item = &'static FieldMeta> + '_ {
    meta.fields
        .iter()
        .filter(|f| f.kind == FieldKind::Text && !f.hidden)
}

/// What the search column holds for an entity: its searchable fields'
/// text, each in Unicode lower case (Rust's, so SQLite, whose `LOWER` knows
/// ASCII only, and PostgreSQL, whose `LOWER` depends on its locale, answer
/// alike), one per line. `None` when the module has nothing to search.
pub(crate) fn search_text(meta: &ModuleMeta, object: &Map<String, Value>) -> Option<String> {
    let mut fields = searchable(meta).peekable();
    fields.peek()?;
    Some(
        fields
            .filter_map(|f| object.get(f.wire_name).and_then(Value::as_str))
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Read-only connections to a SQLite file: `Any` ones, for reads by id
/// and of the event log.
const READERS: u32 = 4;
/// The page cache of each read-only connection, in KiB (SQLite's default
/// is 2 MiB a connection): a dozen of them each filled by a scan of large
/// rows held that much for good. The OS's page cache keeps the file.
const READER_CACHE_KIB: &str = "-512";
const READER_CACHE: &str = "PRAGMA cache_size = -512";
/// Native read-only connections to a SQLite file, for views: each user
/// reads on at most `Limits::reads_per_user` at once.
const VIEW_READERS: u32 = 8;

/// A SQLite file's connections: the one writer, its `Any` readers, and the
/// native readers of views.
async fn sqlite_file_pools(url: &str) -> Result<(AnyPool, AnyPool, Option<SqlitePool>), Error> {
    let writer = AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|connection, _| {
            Box::pin(async move {
                // WAL is kept in the file; synchronous NORMAL is
                // durable across application crashes in WAL mode.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    let reader = AnyPoolOptions::new()
        .max_connections(READERS)
        .after_connect(|connection, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA query_only = ON")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query(READER_CACHE).execute(&mut *connection).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        .pragma("query_only", "ON")
        .pragma("cache_size", READER_CACHE_KIB)
        .create_if_missing(false);
    let views = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(VIEW_READERS)
        .connect_lazy_with(options);
    Ok((writer, reader, Some(views)))
}
type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

impl Dialect {
    /// An identifier, quoted so that it can only ever name a column or a
    /// table: SQLite reads a double-quoted name that is no column as a
    /// string literal (so a missing column would serve its own name as
    /// data); a backquoted one it never does.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Sqlite => format!("`{}`", name.replace('`', "``")),
            Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite:...` or `postgres://...`) and creates
    /// Aegis's own tables if needed.
    pub async fn connect(url: &str) -> Result<Db, Error> {
        let db = Db::connect_only(url).await?;
        db.create_own_tables().await?;
        Ok(db)
    }

    /// Connects without touching the schema.
    pub async fn connect_only(url: &str) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres") {
            Dialect::Postgres
        } else if url.starts_with("sqlite") {
            Dialect::Sqlite
        } else {
            return Err(Error::Internal(format!(
                "unsupported database URL `{url}`: use sqlite: or postgres://"
            )));
        };
        let pools = match dialect {
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?;
                (pool.clone(), pool, None)
            }
            // One connection makes an in-memory database one database.
            Dialect::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await?;
                (pool.clone(), pool, None)
            }
            Dialect::Sqlite => sqlite_file_pools(url).await?,
        };
        let (pool, reader, views) = pools;
        Ok(Db {
            pool,
            reader,
            views,
            statement_timeout: None,
            dialect,
            url: url.into(),
            instance: uuid::Uuid::new_v4().simple().to_string().into(),
        })
    }

    /// This database with statements that may run for `timeout` at most
    /// (see [`crate::Limits::statement_timeout`]).
    pub(crate) fn limited(mut self, timeout: Duration) -> Db {
        self.statement_timeout = Some(timeout);
        self
    }

    /// On a SQLite file, the native read-only connections of views' reads.
    pub(crate) fn views(&self) -> Option<&SqlitePool> {
        self.views.as_ref()
    }

    /// A private in-memory SQLite database, for tests.
    pub async fn in_memory() -> Result<Db, Error> {
        Db::connect("sqlite::memory:").await
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// This process's name among the instances sharing the database, in
    /// the notifications of its events.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The pool for writes (and reads that must see a write in progress).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for reads on their own: on a SQLite file, connections that
    /// never wait behind a write.
    pub fn read_pool(&self) -> &AnyPool {
        &self.reader
    }

    pub async fn begin(&self) -> Result<Tx, Error> {
        let asked = std::time::Instant::now();
        let tx = match self.timed_begin("BEGIN", self.statement_timeout) {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        };
        crate::metrics::pool_wait(asked.elapsed());
        Ok(tx)
    }

    /// On PostgreSQL with a statement timeout, `begin` followed by the
    /// timeout for the transaction's statements (one round trip: a simple
    /// query of two statements). A statement past it is cancelled, its
    /// transaction fails, and the request is answered 503.
    fn timed_begin(&self, begin: &str, timeout: Option<Duration>) -> Option<String> {
        let timeout = timeout?;
        (self.dialect == Dialect::Postgres).then(|| {
            format!(
                "{begin}; SET LOCAL statement_timeout = {}",
                timeout.as_millis().max(1)
            )
        })
    }

    /// A read-only transaction whose statements all see one snapshot
    /// (PostgreSQL's default, READ COMMITTED, gives each statement its
    /// own; SQLite's transactions are snapshots already). On PostgreSQL
    /// the `BEGIN` itself sets the level: one round trip, not two.
    pub async fn begin_snapshot(&self) -> Result<Tx, Error> {
        self.begin_snapshot_within(self.statement_timeout).await
    }

    /// A snapshot ([`Db::begin_snapshot`]) whose statements may each run
    /// for `timeout` on PostgreSQL (none: without a bound).
    pub(crate) async fn begin_snapshot_within(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Tx, Error> {
        const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        Ok(match self.dialect {
            Dialect::Postgres => {
                let begin = self.timed_begin(SNAPSHOT, timeout);
                self.reader
                    .begin_with(begin.unwrap_or_else(|| SNAPSHOT.to_owned()))
                    .await?
            }
            Dialect::Sqlite => self.reader.begin().await?,
        })
    }

    /// An identifier quoted for this database ([`Dialect::ident`]).
    pub fn ident(&self, name: &str) -> String {
        self.dialect.ident(name)
    }

    /// The `n`th (1-based) bind parameter.
    pub(crate) fn param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The `n`th parameter of a statement whose parameters appear in the
    /// order they are bound, each once: `?` on SQLite, `$n` on PostgreSQL.
    /// sqlx looks a numbered SQLite parameter (`?NNN`) up by its name, and
    /// SQLite finds a name by walking the statement's list of them: a
    /// multi-row insert of 800 numbered parameters spent 60 % of an
    /// import's time there. Anonymous ones have no name to look up.
    pub(crate) fn positional_param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The rows of a multi-row `VALUES`: `rows` of `per_row` parameters
    /// each, bound row by row ([`Db::positional_param`]).
    pub(crate) fn values_rows(&self, rows: usize, per_row: usize) -> String {
        let rows: Vec<String> = (0..rows)
            .map(|row| {
                let params: Vec<String> = (1..=per_row)
                    .map(|n| self.positional_param(row * per_row + n))
                    .collect();
                format!("({})", params.join(", "))
            })
            .collect();
        rows.join(", ")
    }

    /// A schema change, serialised across instances starting together
    /// (PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe to race, and
    /// a plan made from what a table looked like must not be applied to
    /// what another instance has made of it since).
    pub(crate) async fn schema_tx(&self) -> Result<Tx, Error> {
        match self.dialect {
            // No statement timeout: a schema change of a large table may
            // take longer than any request should.
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7411203)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
            // The write lock from the start: two processes on one file
            // then take turns instead of failing to upgrade a read lock.
            Dialect::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
        }
    }

    async fn create_own_tables(&self) -> Result<(), Error> {
        let mut tx = self.schema_tx().await?;
        for statement in [
            "CREATE TABLE IF NOT EXISTS aegis_features (\
                feature TEXT PRIMARY KEY, \
                seq BIGINT NOT NULL DEFAULT 0, \
                next_id BIGINT NOT NULL DEFAULT 1)",
            "CREATE TABLE IF NOT EXISTS aegis_events (\
                feature TEXT NOT NULL, \
                seq BIGINT NOT NULL, \
                frame TEXT NOT NULL, \
                created_at TEXT NOT NULL, \
                scope TEXT, \
                instance TEXT, \
                PRIMARY KEY (feature, seq))",
            // Import jobs, so every instance answers for every job.
            "CREATE TABLE IF NOT EXISTS aegis_import_jobs (\
                job_id TEXT PRIMARY KEY, \
                state TEXT NOT NULL, \
                job TEXT NOT NULL, \
                updated_ms BIGINT NOT NULL)",
            // Each module's model and the plans applied to its table
            // (`crate::schema`).
            "CREATE TABLE IF NOT EXISTS aegis_schema (\
                module TEXT NOT NULL, \
                fingerprint TEXT NOT NULL, \
                model TEXT NOT NULL, \
                statements TEXT NOT NULL, \
                applied_at TEXT NOT NULL)",
        ] {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        // Files, their chunks and who holds them (`crate::files`).
        for statement in file_tables(self.dialect) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        // Logs written before events carried a scope (`crate::access`), or
        // the instance that wrote them (`crate::relay`).
        for column in ["scope", "instance"] {
            self.add_event_column(&mut tx, column).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds the nullable text column `column` to the event log if it is
    /// not there yet.
    async fn add_event_column(&self, tx: &mut Tx, column: &str) -> Result<(), Error> {
        let has = match self.dialect {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM pragma_table_info('aegis_events') WHERE name = ?1"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = \
                 current_schema() AND table_name = 'aegis_events' AND column_name = $1"
            }
        };
        let found: i64 = sqlx::query(has)
            .bind(column)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        if found == 0 {
            let sql = format!(
                "ALTER TABLE aegis_events ADD COLUMN {} TEXT",
                self.ident(column)
            );
            sqlx::query(&sql).execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub(crate) fn column_type(&self, field: &FieldMeta) -> &'static str {
        match (field.kind, self.dialect) {
            (FieldKind::Integer, _) => "BIGINT",
            (FieldKind::Float, _) => "DOUBLE PRECISION",
            (FieldKind::Boolean, Dialect::Postgres) => "BOOLEAN",
            (FieldKind::Boolean, Dialect::Sqlite) => "INTEGER",
            (FieldKind::Text | FieldKind::Json, _) => "TEXT",
        }
    }

    /// Binds a JSON value to a query as the column of `field` stores it.
    pub(crate) fn bind<'q>(
        &self,
        query: AnyQuery<'q>,
        field: &FieldMeta,
        value: Option<&Value>,
    ) -> AnyQuery<'q> {
        // sqlx 0.8's `Any` driver sends a null `f64` to PostgreSQL typed
        // `real`, and a statement is prepared, and kept, with the types of
        // its first run: one first run with a null would refuse every
        // number after it on that connection ("incorrect binary data
        // format"). A run with a null float is prepared for itself alone,
        // so the kept statement is always typed by numbers.
        let null_float = field.kind == FieldKind::Float
            && self.dialect == Dialect::Postgres
            && values::stored(field, value)
                .and_then(Value::as_f64)
                .is_none();
        let query = values::bind(query, field, value);
        if null_float {
            query.persistent(false)
        } else {
            query
        }
    }

    /// A stored row back as the entity's JSON object.
    pub(crate) fn read_row(
        &self,
        row: &AnyRow,
        meta: &ModuleMeta,
    ) -> Result<Map<String, Value>, Error> {
        values::read_row(self.dialect, row, meta)
    }

    /// The first column of a row, read as `meta`'s id.
    pub(crate) fn read_id(&self, row: &AnyRow, meta: &ModuleMeta) -> Result<Value, Error> {
        values::read_value(self.dialect, row, 0, meta.id_field())
    }

    /// `"a", "b", ...`: every column, in field order.
    pub(crate) fn column_list(&self, meta: &ModuleMeta) -> String {
        meta.fields
            .iter()
            .map(|f| self.ident(f.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
