//! Storage on sqlx: SQLite embedded by default, PostgreSQL when the URL
//! says so, behind one `Any` pool. Tables are created at start from the
//! module model ([`Db::create_table`]); Aegis's own tables — the event log,
//! the per-feature counters and the import jobs — by [`Db::connect`].
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
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
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
type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// `"name"`, quoted for both dialects.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
        let options = AnyPoolOptions::new();
        let options = match dialect {
            // SQLite serialises writers anyway; one connection also makes
            // an in-memory database one database.
            Dialect::Sqlite => options.max_connections(1),
            Dialect::Postgres => options.max_connections(16),
        };
        let pool = options.connect(url).await?;
        Ok(Db {
            pool,
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

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(self.pool.begin().await?)
    }

    /// A read-only transaction whose statements all see one snapshot
    /// (PostgreSQL's default, READ COMMITTED, gives each statement its
    /// own; SQLite's transactions are snapshots already).
    pub async fn begin_snapshot(&self) -> Result<Tx, Error> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// The `n`th (1-based) bind parameter.
    pub(crate) fn param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A schema change, serialised across instances starting together
    /// (PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe to race).
    async fn schema_tx(&self) -> Result<Tx, Error> {
        let mut tx = self.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7411203)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
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
                PRIMARY KEY (feature, seq))",
            // Import jobs, so every instance answers for every job.
            "CREATE TABLE IF NOT EXISTS aegis_import_jobs (\
                job_id TEXT PRIMARY KEY, \
                state TEXT NOT NULL, \
                job TEXT NOT NULL, \
                updated_ms BIGINT NOT NULL)",
        ] {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn column_type(&self, field: &FieldMeta) -> &'static str {
        match (field.kind, self.dialect) {
            (FieldKind::Integer, _) => "BIGINT",
            (FieldKind::Float, _) => "DOUBLE PRECISION",
            (FieldKind::Boolean, Dialect::Postgres) => "BOOLEAN",
            (FieldKind::Boolean, Dialect::Sqlite) => "INTEGER",
            (FieldKind::Text | FieldKind::Json, _) => "TEXT",
        }
    }

    /// Creates a module's table (if it does not exist) and its counters.
    pub async fn create_table(&self, meta: &ModuleMeta) -> Result<(), Error> {
        let columns: Vec<String> = meta
            .fields
            .iter()
            .map(|field| {
                let null = if field.nullable { "" } else { " NOT NULL" };
                format!(
                    "{} {}{null}",
                    quote_ident(field.name),
                    self.column_type(field)
                )
            })
            .collect();
        let id = quote_ident(meta.id_field().name);
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({id}))",
            quote_ident(meta.module),
            columns.join(", ")
        );
        let mut tx = self.schema_tx().await?;
        sqlx::query(&create).execute(&mut *tx).await?;
        let next_id = if meta.id_field().kind == FieldKind::Integer {
            format!(
                "(SELECT COALESCE(MAX({id}), 0) + 1 FROM {})",
                quote_ident(meta.module)
            )
        } else {
            "1".to_owned()
        };
        let insert = format!(
            "INSERT INTO aegis_features (feature, seq, next_id) VALUES ({}, 0, {next_id}) \
             ON CONFLICT (feature) DO NOTHING",
            self.param(1)
        );
        sqlx::query(&insert)
            .bind(meta.feature)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Binds a JSON value to a query as the column of `field` stores it.
    pub(crate) fn bind<'q>(
        &self,
        query: AnyQuery<'q>,
        field: &FieldMeta,
        value: Option<&Value>,
    ) -> AnyQuery<'q> {
        let value = value.filter(|v| !v.is_null());
        match field.kind {
            FieldKind::Integer => query.bind(value.and_then(Value::as_i64)),
            FieldKind::Float => query.bind(value.and_then(Value::as_f64)),
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
            object.insert(field.wire_name.to_owned(), value.unwrap_or(Value::Null));
        }
        Ok(object)
    }

    /// `"a", "b", ...`: every column, in field order.
    pub(crate) fn column_list(meta: &ModuleMeta) -> String {
        meta.fields
            .iter()
            .map(|f| quote_ident(f.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
