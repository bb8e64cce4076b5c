//! A view's reads — a list's total and page, an export's rows, the rows a
//! bulk delete selects — on one read-only snapshot, within a time: a read
//! that a client shapes (a long `contains` over long text, say) is stopped
//! when its time is up, its connection is freed, and the request is
//! answered 503 ([`Error::Unavailable`]) with a retry hint.
//!
//! On PostgreSQL the transaction's `statement_timeout` stops it. On a
//! SQLite file the reads run on a native read-only connection whose
//! progress handler stops a statement past its deadline (sqlx's `Any`
//! connections give no way to it). An in-memory SQLite, one connection
//! for tests, has no deadline.

use std::time::{Duration, Instant};

use futures_util::stream::{BoxStream, StreamExt};
use serde_json::{Map, Value};
use sqlx::{Row, Sqlite, Transaction};

use crate::Aegis;
use crate::entity::ModuleMeta;
use crate::error::Error;
use crate::query::{Bind, Selection};
use crate::store::{Db, Dialect, Tx, values};

/// SQLite virtual machine instructions between two looks at the clock: a
/// few per row, so a statement stops within a few rows of its deadline (a
/// row's own cost is bounded by the longest text and pattern).
const PROGRESS_STEPS: i32 = 100;

/// One snapshot of a view's reads.
pub(crate) struct ViewRead {
    tx: Snapshot,
    /// The user's turn at reading, held while the snapshot is (an export
    /// has a place of its own instead).
    _turn: Turn,
    db: Db,
    dialect: Dialect,
    /// How long the reads may take, to say so when they took longer.
    allowed: Duration,
    deadline: Instant,
}

enum Snapshot {
    Any(Tx),
    Sqlite(Transaction<'static, Sqlite>),
}

/// A user's turn at reading. A read that ran until its deadline (stopped
/// there, or just in time) keeps its user's turn as long again once it
/// ends: whoever sends costly reads one after another has the database
/// for half the time at most, and a user whose reads are quick never
/// notices.
struct Turn {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    deadline: Instant,
    allowed: Duration,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        if Instant::now() < self.deadline {
            return;
        }
        let held = self.allowed;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(held).await;
                drop(permit);
            });
        }
    }
}

impl ViewRead {
    /// A snapshot of `user`'s whose reads may take `allowed` (the
    /// statement timeout, or an export's longer time), the wait for one of
    /// the user's turns at reading ([`crate::Limits::reads_per_user`])
    /// included.
    pub(crate) async fn begin(
        aegis: &Aegis,
        user: &str,
        allowed: Duration,
    ) -> Result<ViewRead, Error> {
        let deadline = Instant::now() + allowed;
        let turn = aegis.read_turn(user, deadline.into()).await?;
        ViewRead::begin_with(aegis, Some(turn), allowed, deadline).await
    }

    /// An export's snapshot, whose reads may take `allowed`: its place
    /// among exports ([`crate::Limits::exports_per_user`]) bounds it, not
    /// a turn, so its user reads lists meanwhile.
    pub(crate) async fn begin_export(aegis: &Aegis, allowed: Duration) -> Result<ViewRead, Error> {
        ViewRead::begin_with(aegis, None, allowed, Instant::now() + allowed).await
    }

    async fn begin_with(
        aegis: &Aegis,
        turn: Option<tokio::sync::OwnedSemaphorePermit>,
        allowed: Duration,
        deadline: Instant,
    ) -> Result<ViewRead, Error> {
        let db = aegis.db();
        let tx = match db.views() {
            Some(pool) => {
                let mut tx = pool.begin().await?;
                tx.lock_handle()
                    .await?
                    .set_progress_handler(PROGRESS_STEPS, move || Instant::now() < deadline);
                Snapshot::Sqlite(tx)
            }
            None => Snapshot::Any(db.begin_snapshot_within(Some(allowed)).await?),
        };
        Ok(ViewRead {
            tx,
            _turn: Turn {
                permit: turn,
                deadline,
                allowed,
            },
            db: db.clone(),
            dialect: db.dialect(),
            allowed,
            deadline,
        })
    }

    /// An error of a read: past the deadline, a 503 saying so.
    fn failed(&self, error: sqlx::Error) -> Error {
        if Instant::now() >= self.deadline {
            return too_long(self.allowed);
        }
        Error::from(error)
    }

    /// A read's outcome. One that ends past the deadline is a 503 even
    /// when it reads as a success: a SQLite statement its progress handler
    /// stopped may end as if it had no more rows, and what it returned
    /// would be a part passed off as the whole.
    fn settled<T>(&self, read: Result<T, sqlx::Error>) -> Result<T, Error> {
        match read {
            Ok(_) if Instant::now() >= self.deadline => Err(too_long(self.allowed)),
            Ok(value) => Ok(value),
            Err(error) => Err(self.failed(error)),
        }
    }

    /// The first column of `sql`'s one row, a count.
    pub(crate) async fn count(&mut self, sql: &str, selection: &Selection) -> Result<u64, Error> {
        let row = match &mut self.tx {
            Snapshot::Any(tx) => selection
                .bind(&self.db, sqlx::query(sql))
                .fetch_one(&mut **tx)
                .await
                .and_then(|row| row.try_get::<i64, _>(0)),
            Snapshot::Sqlite(tx) => bind_sqlite(sql, selection)
                .fetch_one(&mut **tx)
                .await
                .and_then(|row| row.try_get::<i64, _>(0)),
        };
        self.settled(row).map(|count| count.max(0) as u64)
    }

    /// `sql`'s rows, each a row of `meta` as its JSON object.
    pub(crate) async fn objects(
        &mut self,
        sql: &str,
        selection: &Selection,
        meta: &ModuleMeta,
    ) -> Result<Vec<Map<String, Value>>, Error> {
        let dialect = self.dialect;
        let rows = match &mut self.tx {
            Snapshot::Any(tx) => match selection
                .bind(&self.db, sqlx::query(sql))
                .fetch_all(&mut **tx)
                .await
            {
                Ok(rows) => Ok(rows
                    .iter()
                    .map(|row| values::read_row(dialect, row, meta))
                    .collect::<Result<Vec<_>, _>>()?),
                Err(error) => Err(error),
            },
            Snapshot::Sqlite(tx) => match bind_sqlite(sql, selection).fetch_all(&mut **tx).await {
                Ok(rows) => Ok(rows
                    .iter()
                    .map(|row| values::read_row(dialect, row, meta))
                    .collect::<Result<Vec<_>, _>>()?),
                Err(error) => Err(error),
            },
        };
        self.settled(rows)
    }

    /// `sql`'s rows as they come, each a row of `meta` as its JSON object;
    /// a read past the deadline ends the stream with its 503, also when
    /// the statement ended as if it had no more rows.
    pub(crate) fn stream<'a>(
        &'a mut self,
        sql: &'a str,
        selection: &'a Selection,
        meta: &'a ModuleMeta,
    ) -> BoxStream<'a, Result<Map<String, Value>, Error>> {
        let (dialect, allowed, deadline) = (self.dialect, self.allowed, self.deadline);
        let failed = move |error: sqlx::Error| {
            if Instant::now() >= deadline {
                too_long(allowed)
            } else {
                Error::from(error)
            }
        };
        let rows = match &mut self.tx {
            Snapshot::Any(tx) => selection
                .bind(&self.db, sqlx::query(sql))
                .fetch(&mut **tx)
                .map(move |row| values::read_row(dialect, &row.map_err(failed)?, meta))
                .boxed(),
            Snapshot::Sqlite(tx) => bind_sqlite(sql, selection)
                .fetch(&mut **tx)
                .map(move |row| values::read_row(dialect, &row.map_err(failed)?, meta))
                .boxed(),
        };
        let late = futures_util::stream::once(async move {
            (Instant::now() >= deadline).then(|| Err(too_long(allowed)))
        })
        .filter_map(|late| async move { late });
        rows.chain(late).boxed()
    }

    /// `sql`'s rows' first column, each an id of `meta`.
    pub(crate) async fn ids(
        &mut self,
        sql: &str,
        selection: &Selection,
        meta: &ModuleMeta,
    ) -> Result<Vec<Value>, Error> {
        let dialect = self.dialect;
        let id = meta.id_field();
        let ids = match &mut self.tx {
            Snapshot::Any(tx) => match selection
                .bind(&self.db, sqlx::query(sql))
                .fetch_all(&mut **tx)
                .await
            {
                Ok(rows) => Ok(rows
                    .iter()
                    .map(|row| values::read_value(dialect, row, 0, id))
                    .collect::<Result<Vec<_>, _>>()?),
                Err(error) => Err(error),
            },
            Snapshot::Sqlite(tx) => match bind_sqlite(sql, selection).fetch_all(&mut **tx).await {
                Ok(rows) => Ok(rows
                    .iter()
                    .map(|row| values::read_value(dialect, row, 0, id))
                    .collect::<Result<Vec<_>, _>>()?),
                Err(error) => Err(error),
            },
        };
        self.settled(ids)
    }

    /// The feature's last seq, as this snapshot sees it.
    pub(crate) async fn current_seq(&mut self, feature: &str) -> Result<u64, Error> {
        let seq = match &mut self.tx {
            Snapshot::Any(tx) => return crate::log::current_seq(&self.db, tx, feature).await,
            Snapshot::Sqlite(tx) => {
                sqlx::query("SELECT seq FROM aegis_features WHERE feature = ?1")
                    .bind(feature)
                    .fetch_optional(&mut **tx)
                    .await
            }
        };
        match seq.map_err(|e| self.failed(e))? {
            Some(row) => Ok(row.try_get::<i64, _>(0)? as u64),
            None => Ok(0),
        }
    }

    /// Ends the snapshot.
    pub(crate) async fn finish(self) -> Result<(), Error> {
        match self.tx {
            Snapshot::Any(tx) => tx.commit().await?,
            Snapshot::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// The 503 of a read that took longer than it may.
fn too_long(allowed: Duration) -> Error {
    Error::Unavailable(format!(
        "the database took longer than the {} ms a read may; try again, or narrow the view",
        allowed.as_millis()
    ))
}

/// `sql` with `selection`'s values bound, on a native SQLite connection.
fn bind_sqlite<'q>(
    sql: &'q str,
    selection: &Selection,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    let mut query = sqlx::query(sql);
    for bind in &selection.binds {
        query = match bind {
            Bind::Field(field, value) => values::bind(query, field, Some(value)),
            Bind::Text(text) => query.bind(text.clone()),
            Bind::Integer(n) => query.bind(*n),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(gate: &std::sync::Arc<tokio::sync::Semaphore>, deadline: Instant) -> Turn {
        Turn {
            permit: Some(gate.clone().try_acquire_owned().unwrap()),
            deadline,
            allowed: Duration::from_millis(200),
        }
    }

    #[tokio::test]
    async fn a_read_that_ran_to_its_deadline_keeps_its_turn_as_long_again() {
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        drop(turn(&gate, Instant::now() + Duration::from_secs(60)));
        assert_eq!(
            gate.available_permits(),
            1,
            "a quick read gives it back at once"
        );

        drop(turn(&gate, Instant::now()));
        let dropped = Instant::now();
        assert_eq!(gate.available_permits(), 0, "kept");
        let _again = gate.clone().acquire_owned().await.unwrap();
        assert!(dropped.elapsed() >= Duration::from_millis(200));
    }
}
