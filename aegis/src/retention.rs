//! Retention, so the disk does not fill: the event log keeps, per feature,
//! at most [`Limits::event_retention`] events and none older than
//! [`Limits::event_max_age`]; rows' history entries go after
//! [`Limits::history_max_age`] when it is set (by default they are kept);
//! finished import jobs go after [`Limits::import_job_max_age`]. A background task prunes every
//! [`Limits::prune_interval`], the oldest events first, in batches of
//! [`Limits::prune_batch`], each its own short statement, so writers never
//! wait long behind it. A client whose `since` is older than what is kept
//! gets `resync`, as for any gap. Instances sharing a database may all
//! prune: deleting what another already deleted is no harm.
//!
//! [`Limits::event_retention`]: crate::Limits::event_retention
//! [`Limits::event_max_age`]: crate::Limits::event_max_age
//! [`Limits::history_max_age`]: crate::Limits::history_max_age
//! [`Limits::import_job_max_age`]: crate::Limits::import_job_max_age
//! [`Limits::prune_interval`]: crate::Limits::prune_interval
//! [`Limits::prune_batch`]: crate::Limits::prune_batch

use chrono::{DateTime, Utc};
use sqlx::Row;
use tokio_util::task::AbortOnDropHandle;

use crate::error::Error;
use crate::limits::Limits;
use crate::store::Db;

/// What one pruning pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: u64,
    pub history: u64,
    pub import_jobs: u64,
}

/// Prunes every [`Limits::prune_interval`] until dropped. It holds the
/// database, not the runtime, so the runtime can still be dropped.
///
/// [`Limits::prune_interval`]: crate::Limits::prune_interval
pub(crate) fn spawn(db: Db, limits: Limits) -> AbortOnDropHandle<()> {
    AbortOnDropHandle::new(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(limits.prune_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match prune(&db, &limits, Utc::now()).await {
                Ok(pruned) if pruned != Pruned::default() => {
                    tracing::debug!(?pruned, "retention: pruned");
                }
                Ok(_) => {}
                // The database may be away for a while; the next tick tries again.
                Err(error) => tracing::warn!(%error, "retention: pruning failed"),
            }
        }
    }))
}

/// One pass over every feature's events and the import jobs, as of `now`
/// ([`crate::Aegis::prune`] passes the present).
pub async fn prune(db: &Db, limits: &Limits, now: DateTime<Utc>) -> Result<Pruned, Error> {
    let features = sqlx::query("SELECT feature, seq FROM aegis_features ORDER BY feature")
        .fetch_all(db.read_pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
        .collect::<Result<Vec<(String, i64)>, Error>>()?;
    let too_old = limits
        .event_max_age
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .and_then(|age| now.checked_sub_signed(age));
    let mut pruned = Pruned::default();
    for (feature, seq) in features {
        let keep_after = limits
            .event_retention
            .map_or(0, |kept| seq.saturating_sub(kept as i64));
        pruned.events +=
            prune_feature(db, &feature, keep_after, too_old, limits.prune_batch).await?;
    }
    // An age past what a time can count back is as good as none.
    let history_cutoff = limits
        .history_max_age
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .and_then(|age| now.checked_sub_signed(age));
    if let Some(cutoff) = history_cutoff {
        pruned.history = crate::history::prune(db, cutoff, limits.prune_batch).await?;
    }
    let job_cutoff = chrono::Duration::from_std(limits.import_job_max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let forget = format!(
        "DELETE FROM aegis_import_jobs WHERE updated_ms < {}",
        db.param(1)
    );
    pruned.import_jobs = sqlx::query(&forget)
        .bind(job_cutoff.timestamp_millis())
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(pruned)
}

/// Deletes a feature's oldest events: those with a seq up to `keep_after`,
/// and those older than `too_old`, a batch at a time. Only a run from the
/// oldest event is ever deleted, so what is kept has no holes.
async fn prune_feature(
    db: &Db,
    feature: &str,
    keep_after: i64,
    too_old: Option<DateTime<Utc>>,
    batch: u64,
) -> Result<u64, Error> {
    let oldest = format!(
        "SELECT seq, created_at FROM aegis_events WHERE feature = {} ORDER BY seq LIMIT {}",
        db.param(1),
        db.param(2)
    );
    let delete = format!(
        "DELETE FROM aegis_events WHERE feature = {} AND seq <= {}",
        db.param(1),
        db.param(2)
    );
    let mut deleted = 0;
    loop {
        let rows = sqlx::query(&oldest)
            .bind(feature)
            .bind(batch.max(1) as i64)
            .fetch_all(db.read_pool())
            .await?;
        let mut last = None;
        for row in &rows {
            let seq: i64 = row.try_get(0)?;
            let created_at: String = row.try_get(1)?;
            // Parsed, not compared as text: older rows may be written in
            // another RFC 3339 form.
            let expired = too_old.is_some_and(|cutoff| {
                DateTime::parse_from_rfc3339(&created_at).is_ok_and(|at| at < cutoff)
            });
            if seq <= keep_after || expired {
                last = Some(seq);
            } else {
                break;
            }
        }
        let Some(last) = last else {
            return Ok(deleted);
        };
        deleted += sqlx::query(&delete)
            .bind(feature)
            .bind(last)
            .execute(db.pool())
            .await?
            .rows_affected();
        let whole_batch_went = (rows.len() as u64) == batch
            && rows
                .last()
                .and_then(|row| row.try_get::<i64, _>(0).ok())
                .is_some_and(|seq| seq == last);
        if !whole_batch_went {
            return Ok(deleted);
        }
        // Others' statements go between the batches.
        tokio::task::yield_now().await;
    }
}
