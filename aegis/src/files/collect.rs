//! Collection: a file no row refers to, uploaded longer ago than
//! [`Limits::file_grace`], is deleted, its record and its bytes. A pass
//! runs every [`Limits::prune_interval`] and soon after a change dropped a
//! reference ([`soon`]); it only ever sees committed references, so a
//! file is never taken from under a row, and what a crash left behind (an
//! upload no row came to hold) goes at the next pass after its grace. On
//! an object store, a sweep (at most once per grace) also deletes objects
//! with no record: what a crash between a record's delete and its
//! object's left.
//!
//! [`Limits::file_grace`]: crate::Limits::file_grace
//! [`Limits::prune_interval`]: crate::Limits::prune_interval

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use sqlx::Row;
use tokio_util::task::AbortOnDropHandle;

use super::content::FileStore;
use super::{Files, stored};
use crate::error::Error;
use crate::limits::Limits;

/// Files one pass looks at per statement.
const BATCH: i64 = 100;

/// How long after a dropped reference a pass runs: the change's
/// transaction commits meanwhile.
const AFTER_DROP: Duration = Duration::from_millis(500);

static DROPPED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A change dropped a reference to a file: collect soon.
pub(crate) fn soon() {
    DROPPED.notify_waiters();
}

/// What a pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Files no row referred to.
    pub files: u64,
    /// Objects with no record (object stores only).
    pub orphans: u64,
}

/// Collects until dropped.
pub(crate) fn spawn(files: Files, limits: Limits) -> AbortOnDropHandle<()> {
    AbortOnDropHandle::new(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(limits.prune_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut swept: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = DROPPED.notified() => tokio::time::sleep(AFTER_DROP).await,
            }
            let sweep = swept.is_none_or(|at| at.elapsed() >= limits.file_grace);
            match pass(&files, limits.file_grace, Utc::now(), sweep).await {
                Ok(collected) => {
                    if sweep {
                        swept = Some(tokio::time::Instant::now());
                    }
                    if collected != Collected::default() {
                        tracing::debug!(?collected, "files: collected");
                    }
                }
                // The database or the store may be away; the next pass tries again.
                Err(error) => tracing::warn!(%error, "files: collection failed"),
            }
        }
    }))
}

/// One pass as of `now`: unreferenced files past `grace` and, with
/// `sweep`, objects without a record.
pub(crate) async fn pass(
    files: &Files,
    grace: Duration,
    now: DateTime<Utc>,
    sweep: bool,
) -> Result<Collected, Error> {
    let cutoff = now - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let mut collected = Collected::default();
    loop {
        let ids = unreferenced(files, cutoff.timestamp_millis()).await?;
        let mut went = 0;
        for id in &ids {
            if delete(files, id, cutoff.timestamp_millis()).await? {
                went += 1;
            }
        }
        collected.files += went;
        // A batch none of which went would be listed again.
        if (ids.len() as i64) < BATCH || went == 0 {
            break;
        }
    }
    if sweep {
        collected.orphans = orphans(files, cutoff).await?;
    }
    Ok(collected)
}

const UNREFERENCED: &str = "uploaded_ms < {cutoff} AND NOT EXISTS \
    (SELECT 1 FROM aegis_file_refs r WHERE r.file_id = aegis_files.id)";

async fn unreferenced(files: &Files, cutoff_ms: i64) -> Result<Vec<String>, Error> {
    let db = files.db();
    let sql = format!(
        "SELECT id FROM aegis_files WHERE {} ORDER BY id LIMIT {BATCH}",
        UNREFERENCED.replace("{cutoff}", &db.param(1))
    );
    let rows = sqlx::query(&sql)
        .bind(cutoff_ms)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String, _>(0)?))
        .collect()
}

/// Deletes file `id` if it is still unreferenced and past its grace (a
/// row may have come to hold it, or an upload renewed it, since it was
/// listed); `true` if it went.
async fn delete(files: &Files, id: &str, cutoff_ms: i64) -> Result<bool, Error> {
    let db = files.db();
    let mut tx = db.begin().await?;
    let sql = format!(
        "DELETE FROM aegis_files WHERE id = {} AND {}",
        db.param(1),
        UNREFERENCED.replace("{cutoff}", &db.param(2))
    );
    let deleted = match sqlx::query(&sql)
        .bind(id)
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await
    {
        Ok(done) => done.rows_affected() > 0,
        // A reference committed meanwhile (the foreign key says so).
        Err(sqlx::Error::Database(_)) => false,
        Err(error) => return Err(error.into()),
    };
    if !deleted {
        return Ok(false);
    }
    let chunks = format!(
        "DELETE FROM aegis_file_chunks WHERE file_id = {}",
        db.param(1)
    );
    sqlx::query(&chunks).bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    if let FileStore::Objects { store, prefix } = files.store() {
        match store.delete(&FileStore::path(&prefix, id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            // The sweep deletes it later.
            Err(error) => tracing::warn!(%error, file = id, "files: cannot delete an object"),
        }
    }
    Ok(true)
}

/// Deletes the objects older than `cutoff` that no record names.
async fn orphans(files: &Files, cutoff: DateTime<Utc>) -> Result<u64, Error> {
    let FileStore::Objects { store, prefix } = files.store() else {
        return Ok(0);
    };
    let mut listed = store.list(Some(&prefix));
    let mut deleted = 0;
    while let Some(object) = listed.next().await {
        let object = object
            .map_err(|e| Error::Unavailable(format!("the file store did not answer: {e}")))?;
        let Some(id) = object.location.filename() else {
            continue;
        };
        if object.last_modified >= cutoff
            || stored(files.db(), files.db().pool(), id).await?.is_some()
        {
            continue;
        }
        match store.delete(&object.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
            Err(error) => tracing::warn!(%error, file = id, "files: cannot delete an object"),
        }
    }
    Ok(deleted)
}
