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

use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::entity::{FieldKind, FieldMeta, ModuleMeta};
use crate::error::Error;

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

/// The value a column of `field` is given for `value`: none (SQL `NULL`)
/// for a missing value or JSON `null`, but for a JSON field that is not
/// nullable, whose `null` is a value of its own, stored as the text
/// `null`.
fn stored_value<'v>(field: &FieldMeta, value: Option<&'v Value>) -> Option<&'v Value> {
    const NULL: &Value = &Value::Null;
    match value {
        None | Some(Value::Null) if field.kind == FieldKind::Json && !field.nullable => Some(NULL),
        None | Some(Value::Null) => None,
        Some(value) => Some(value),
    }
}

/// Read-only connections to a SQLite file.
const READERS: u32 = 4;
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
        let (pool, reader) = match dialect {
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?;
                (pool.clone(), pool)
            }
            // One connection makes an in-memory database one database.
            Dialect::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await?;
                (pool.clone(), pool)
            }
            Dialect::Sqlite => {
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
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                (writer, reader)
            }
        };
        Ok(Db {
            pool,
            reader,
            dialect,
            url: url.into(),
            instance: uuid::Uuid::new_v4().simple().to_string().into(),
        })
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
        let tx = self.pool.begin().await?;
        crate::metrics::pool_wait(asked.elapsed());
        Ok(tx)
    }

    /// A read-only transaction whose statements all see one snapshot
    /// (PostgreSQL's default, READ COMMITTED, gives each statement its
    /// own; SQLite's transactions are snapshots already). On PostgreSQL
    /// the `BEGIN` itself sets the level: one round trip, not two.
    pub async fn begin_snapshot(&self) -> Result<Tx, Error> {
        Ok(match self.dialect {
            Dialect::Postgres => {
                self.reader
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
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
            Dialect::Postgres => {
                let mut tx = self.begin().await?;
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
        let value = stored_value(field, value);
        match field.kind {
            FieldKind::Integer => query.bind(value.and_then(Value::as_i64)),
            // sqlx 0.8's `Any` driver sends a null `f64` to PostgreSQL
            // typed `real`, and a statement is prepared, and kept, with
            // the types of its first run: one first run with a null
            // would refuse every number after it on that connection
            // ("incorrect binary data format"). A run with a null float
            // is prepared for itself alone, so the kept statement is
            // always typed by numbers.
            FieldKind::Float => match value.and_then(Value::as_f64) {
                None if self.dialect == Dialect::Postgres => {
                    query.bind(None::<f64>).persistent(false)
                }
                number => query.bind(number),
            },
            FieldKind::Boolean => query.bind(value.and_then(Value::as_bool)),
            FieldKind::Text => query.bind(value.map(|v| match v {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })),
            FieldKind::Json => query.bind(value.map(Value::to_string)),
        }
    }

    /// A stored row back as the entity's JSON object.
    pub(crate) fn read_row(
        &self,
        row: &AnyRow,
        meta: &ModuleMeta,
    ) -> Result<Map<String, Value>, Error> {
        let mut object = Map::new();
        for (index, field) in meta.fields.iter().enumerate() {
            object.insert(
                field.wire_name.to_owned(),
                self.read_value(row, index, field)?,
            );
        }
        Ok(object)
    }

    /// The first column of a row, read as `meta`'s id.
    pub(crate) fn read_id(&self, row: &AnyRow, meta: &ModuleMeta) -> Result<Value, Error> {
        self.read_value(row, 0, meta.id_field())
    }

    /// Column `index` of a row as `field`'s JSON value.
    fn read_value(&self, row: &AnyRow, index: usize, field: &FieldMeta) -> Result<Value, Error> {
        let value = match field.kind {
            FieldKind::Integer => row.try_get::<Option<i64>, _>(index)?.map(Value::from),
            FieldKind::Float => row.try_get::<Option<f64>, _>(index)?.map(Value::from),
            FieldKind::Boolean => match self.dialect {
                Dialect::Postgres => row.try_get::<Option<bool>, _>(index)?.map(Value::from),
                Dialect::Sqlite => row
                    .try_get::<Option<i64>, _>(index)?
                    .map(|n| Value::from(n != 0)),
            },
            FieldKind::Text => row.try_get::<Option<String>, _>(index)?.map(Value::from),
            FieldKind::Json => match row.try_get::<Option<String>, _>(index)? {
                Some(text) => Some(Value::from_str(&text).map_err(|e| {
                    Error::Internal(format!("column `{}` holds bad JSON: {e}", field.name))
                })?),
                None => None,
            },
        };
        Ok(value.unwrap_or(Value::Null))
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
