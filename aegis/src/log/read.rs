//! Reading the event log: a feature's last seq, its events after a seq
//! (a replay, a gap filled, another instance's events), and what a replay
//! of them would weigh.

use std::sync::Arc;

use sqlx::Row;

use super::StoredEvent;
use crate::error::Error;
use crate::store::{Db, Dialect, Tx};

/// The feature's last seq.
pub async fn current_seq(db: &Db, executor: &mut Tx, feature: &str) -> Result<u64, Error> {
    let query = format!(
        "SELECT seq FROM aegis_features WHERE feature = {}",
        db.param(1)
    );
    let row = sqlx::query(&query)
        .bind(feature)
        .fetch_optional(&mut **executor)
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64, _>(0)? as u64,
        None => 0,
    })
}

/// The events of `feature` after `since`, in order, at most `limit`.
pub async fn replay(
    db: &Db,
    feature: &str,
    since: u64,
    limit: u64,
) -> Result<Vec<Arc<StoredEvent>>, Error> {
    let query = format!(
        "SELECT frame, scope FROM aegis_events WHERE feature = {} AND seq > {} ORDER BY seq LIMIT {}",
        db.param(1),
        db.param(2),
        db.param(3)
    );
    let rows = sqlx::query(&query)
        .bind(feature)
        .bind(since as i64)
        .bind(limit as i64)
        .fetch_all(db.read_pool())
        .await?;
    rows.iter()
        .map(|row| {
            let event = stored_event(feature, &row.try_get::<String, _>(0)?, row.try_get(1)?)?;
            Ok(Arc::new(event))
        })
        .collect()
}

/// How many events of `feature` the log holds after `since` up to `upto`,
/// and their frames' bytes: what a replay of them would send.
pub(crate) async fn replay_size(
    db: &Db,
    feature: &str,
    since: u64,
    upto: u64,
) -> Result<(u64, u64), Error> {
    let bytes = match db.dialect() {
        Dialect::Sqlite => "LENGTH(CAST(frame AS BLOB))",
        Dialect::Postgres => "OCTET_LENGTH(frame)",
    };
    let query = format!(
        "SELECT COUNT(*), COALESCE(SUM({bytes}), 0) FROM aegis_events \
         WHERE feature = {} AND seq > {} AND seq <= {}",
        db.param(1),
        db.param(2),
        db.param(3)
    );
    let row = sqlx::query(&query)
        .bind(feature)
        .bind(since as i64)
        .bind(upto as i64)
        .fetch_one(db.read_pool())
        .await?;
    let count = row.try_get::<i64, _>(0)?.max(0) as u64;
    let bytes = row.try_get::<i64, _>(1)?.max(0) as u64;
    Ok((count, bytes))
}

/// An event of `feature` as the log keeps it: its frame, and its scope.
pub(crate) fn stored_event(
    feature: &str,
    frame: &str,
    scope: Option<String>,
) -> Result<StoredEvent, Error> {
    let bad = || Error::Internal(format!("the event log of `{feature}` holds a bad frame"));
    let mut event = StoredEvent::from_frame(frame).ok_or_else(bad)?;
    event.scope = scope
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|_| bad())?;
    Ok(event)
}
