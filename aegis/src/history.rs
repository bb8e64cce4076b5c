//! Each row's history: one entry per change — who, when, what it set —
//! in `aegis_history`, written in the change's own transaction (a change
//! rolled back leaves none) and apart from the event log, so the log's
//! retention never cuts it; [`Limits::history_max_age`] does, when set.
//!
//! An entry keeps the row as the front end sees it after the change (before
//! it, for a delete): what "Restore this version" writes back
//! ([`crate::history_routes`]). An update also keeps the fields it changed,
//! old and new; a create's and a delete's are read from that row.
//!
//! An import batch of a module with integer ids writes one entry for all
//! its rows (their ids run from `first_id` to `last_id`, allocated
//! together), not one per row, so an import costs next to nothing more:
//! each row's created version is then the oldest one its own entries lead
//! back to, each update's old values put back from the row as it is.
//!
//! [`Limits::history_max_age`]: crate::Limits::history_max_age

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::access::RowFilter;
use crate::entity::{CrudEntity, FieldRole, ModuleMeta};
use crate::error::Error;
use crate::events::entity_data;
use crate::protocol::{FieldChange, HistoryAction, HistoryEntry};
use crate::store::{Db, Tx};

/// A row's id as the history keys it: a string as it is, a number as
/// its digits.
pub(crate) fn row_key(id: &Value) -> String {
    match id {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `row` (as sent) with every field the front end sees: one serde leaves
/// out (`skip_serializing_if`) is `null` there, so that a change to or
/// from it is one, and a key missing from a kept row means the field did
/// not exist then.
pub(crate) fn complete(meta: &ModuleMeta, mut row: Value) -> Value {
    if let Value::Object(map) = &mut row {
        for field in meta.fields.iter().filter(|f| !f.hidden) {
            map.entry(field.wire_name).or_insert(Value::Null);
        }
    }
    row
}

/// Whether a reader whose read filter is `filter` may see an entry: the
/// row as the change left it and, for an update, as it found it.
pub(crate) fn visible(filter: Option<&RowFilter>, stored: &Stored) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let allows = |row: &Value| row.as_object().is_some_and(|row| filter.allows(row));
    if !allows(&stored.state) {
        return false;
    }
    if stored.entry.action != HistoryAction::Updated {
        return true;
    }
    let mut before = stored.state.clone();
    for change in &stored.entry.changes {
        before[&change.field] = change.old.clone();
    }
    allows(&before)
}

/// The entry as a reader who may not see it gets it: that there was a
/// change, when and by whom, not what it held.
fn withheld(mut entry: HistoryEntry) -> HistoryEntry {
    entry.changes.clear();
    entry.withheld = true;
    entry
}

/// One change to record.
pub(crate) struct Entry<'a> {
    pub meta: &'static ModuleMeta,
    pub action: HistoryAction,
    pub user: &'a str,
    /// The row as sent before the change (`None` for a create).
    pub before: Option<&'a Value>,
    /// The row as sent after it (`None` for a delete).
    pub after: Option<&'a Value>,
    /// The entry whose version the change wrote back.
    pub restores: Option<u64>,
}

impl Entry<'_> {
    /// The row the entry keeps: after the change, or before a delete.
    fn state(&self) -> &Value {
        self.after.or(self.before).unwrap_or(&Value::Null)
    }

    /// What an update changed, as `{ field: [old, new] }`; `None` for a
    /// create or a delete, whose changes are their row.
    fn changes(&self) -> Option<Value> {
        let (Some(before), Some(after)) = (self.before, self.after) else {
            return None;
        };
        let changed: Map<String, Value> = own_fields(self.meta, after)
            .filter(|(key, value)| before.get(key) != Some(*value))
            .map(|(key, value)| {
                let old = before.get(key).cloned().unwrap_or(Value::Null);
                (key.to_owned(), Value::Array(vec![old, value.clone()]))
            })
            .collect();
        Some(Value::Object(changed))
    }
}

/// The fields of `row` a change sets: not the id, the version or a stamp,
/// which are the entry's own.
fn own_fields<'a>(
    meta: &'static ModuleMeta,
    row: &'a Value,
) -> impl Iterator<Item = (&'a str, &'a Value)> {
    let entry_owns = |key: &str| {
        meta.fields
            .iter()
            .any(|f| f.wire_name == key && (f.role != FieldRole::Data || f.stamp.is_some()))
    };
    row.as_object()
        .into_iter()
        .flatten()
        .filter(move |(key, _)| !entry_owns(key))
        .map(|(key, value)| (key.as_str(), value))
}

/// Entries one statement writes at most.
const ENTRIES_PER_INSERT: usize = 100;

/// The columns an entry is written to.
const INSERT: &str = "INSERT INTO aegis_history \
    (feature, row_id, version, action, user_id, at, changes, state, restores, first_id, last_id)";

/// Writes `entries` in `tx`, many to a statement.
pub(crate) async fn write(db: &Db, tx: &mut Tx, entries: &[Entry<'_>]) -> Result<(), Error> {
    const COLUMNS: usize = 11;
    let at = crate::log::timestamp_text(Utc::now());
    for chunk in entries.chunks(ENTRIES_PER_INSERT) {
        let sql = format!("{INSERT} VALUES {}", db.values_rows(chunk.len(), COLUMNS));
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            let state = entry.state();
            let id = state.get(entry.meta.id_field().wire_name);
            query = query
                .bind(entry.meta.feature)
                .bind(id.map(row_key).unwrap_or_default())
                .bind(version_of(entry.meta, state))
                .bind(action_name(entry.action))
                .bind(entry.user.to_owned())
                .bind(at.clone())
                .bind(entry.changes().map(|c| c.to_string()))
                .bind(Some(state.to_string()))
                .bind(entry.restores.map(|id| id as i64))
                .bind(None::<i64>)
                .bind(None::<i64>);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The version field's value in `row`, if the module has one.
fn version_of(meta: &ModuleMeta, row: &Value) -> Option<i64> {
    meta.version_field()
        .and_then(|f| row.get(f.wire_name))
        .and_then(Value::as_i64)
}

/// Records the creates of an import batch of a module with integer ids,
/// `first` to `last` (rows refused in between were never made), by `user`:
/// one entry for them all.
pub(crate) async fn imported(
    db: &Db,
    tx: &mut Tx,
    meta: &'static ModuleMeta,
    user: &str,
    (first, last): (i64, i64),
) -> Result<(), Error> {
    let sql = format!("{INSERT} VALUES {}", db.values_rows(1, 11));
    sqlx::query(&sql)
        .bind(meta.feature)
        .bind(String::new())
        .bind(meta.version_field().map(|_| 1_i64))
        .bind(action_name(HistoryAction::Created))
        .bind(user.to_owned())
        .bind(crate::log::timestamp_text(Utc::now()))
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(Some(first))
        .bind(Some(last))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the creates of `created` (each with who made it).
pub(crate) async fn created<'a, T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    created: impl IntoIterator<Item = (&'a T, &'a str)>,
) -> Result<(), Error> {
    let rows: Vec<(Value, &str)> = created
        .into_iter()
        .map(|(entity, user)| (complete(T::meta(), entity_data(entity)), user))
        .collect();
    let entries: Vec<Entry> = rows
        .iter()
        .map(|(row, user)| Entry {
            meta: T::meta(),
            action: HistoryAction::Created,
            user,
            before: None,
            after: Some(row),
            restores: None,
        })
        .collect();
    write(db, tx, &entries).await
}

/// Records an update of `before` to `after` by `user`.
pub(crate) async fn updated<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    (before, after): (&T, &T),
    user: &str,
    restores: Option<u64>,
) -> Result<(), Error> {
    let [before, after] = [before, after].map(|row| complete(T::meta(), entity_data(row)));
    let entry = Entry {
        meta: T::meta(),
        action: HistoryAction::Updated,
        user,
        before: Some(&before),
        after: Some(&after),
        restores,
    };
    write(db, tx, &[entry]).await
}

/// Records the delete of `entity` by `user`.
pub(crate) async fn deleted<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    entity: &T,
    user: &str,
) -> Result<(), Error> {
    let row = complete(T::meta(), entity_data(entity));
    let entry = Entry {
        meta: T::meta(),
        action: HistoryAction::Deleted,
        user,
        before: Some(&row),
        after: None,
        restores: None,
    };
    write(db, tx, &[entry]).await
}

fn action_name(action: HistoryAction) -> &'static str {
    match action {
        HistoryAction::Created => "created",
        HistoryAction::Updated => "updated",
        HistoryAction::Deleted => "deleted",
    }
}

fn action_from(name: &str) -> Result<HistoryAction, Error> {
    match name {
        "created" => Ok(HistoryAction::Created),
        "updated" => Ok(HistoryAction::Updated),
        "deleted" => Ok(HistoryAction::Deleted),
        other => Err(Error::Internal(format!(
            "a history entry has an unknown action `{other}`"
        ))),
    }
}

/// The columns an entry is read from, in [`read_entry`]'s order.
const ENTRY_COLUMNS: &str = "id, action, version, user_id, at, changes, state, restores";

/// An entry as stored, and the row it keeps.
pub(crate) struct Stored {
    pub entry: HistoryEntry,
    pub state: Value,
}

fn json(text: &str) -> Result<Value, Error> {
    serde_json::from_str::<Value>(text)
        .map_err(|e| Error::Internal(format!("a history entry does not read: {e}")))
}

fn time(text: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("a history entry's time does not read: {e}")))
}

/// One of a row's own entries.
fn read_entry(meta: &'static ModuleMeta, row: &AnyRow) -> Result<Stored, Error> {
    let action = action_from(&row.try_get::<String, _>(1)?)?;
    let state = match row.try_get::<Option<String>, _>(6)? {
        Some(text) => json(&text)?,
        None => return Err(Error::Internal("a row's history entry keeps no row".into())),
    };
    let changes = match row.try_get::<Option<String>, _>(5)? {
        Some(text) => listed(meta, &json(&text)?),
        None => whole(meta, action, &state),
    };
    let entry = HistoryEntry {
        id: row.try_get::<i64, _>(0)? as u64,
        action,
        version: row.try_get(2)?,
        user_id: row.try_get(3)?,
        at: time(&row.try_get::<String, _>(4)?)?,
        changes,
        restores: row.try_get::<Option<i64>, _>(7)?.map(|id| id as u64),
        withheld: false,
    };
    Ok(Stored { entry, state })
}

/// An update's stored changes, `{ field: [old, new] }`, as a list in the
/// module's field order (a field the module no longer has, after them).
fn listed(meta: &ModuleMeta, changes: &Value) -> Vec<FieldChange> {
    let mut list: Vec<FieldChange> = changes
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, pair)| FieldChange {
            field: field.clone(),
            old: pair.get(0).cloned().unwrap_or(Value::Null),
            new: pair.get(1).cloned().unwrap_or(Value::Null),
        })
        .collect();
    list.sort_by_key(|change| field_order(meta, &change.field));
    list
}

/// Every field of a created row (as new values) or a deleted one (as old).
fn whole(meta: &'static ModuleMeta, action: HistoryAction, state: &Value) -> Vec<FieldChange> {
    let mut list: Vec<FieldChange> = own_fields(meta, state)
        .map(|(field, value)| {
            let (old, new) = match action {
                HistoryAction::Deleted => (value.clone(), Value::Null),
                _ => (Value::Null, value.clone()),
            };
            FieldChange {
                field: field.to_owned(),
                old,
                new,
            }
        })
        .collect();
    list.sort_by_key(|change| field_order(meta, &change.field));
    list
}

fn field_order(meta: &ModuleMeta, field: &str) -> usize {
    meta.fields
        .iter()
        .position(|f| f.wire_name == field)
        .unwrap_or(meta.fields.len())
}

/// `SELECT {what}` of `meta`'s row `row`'s own entries, then `rest` (a
/// further condition, an order, a limit).
fn own_entries<'q>(
    db: &Db,
    (what, rest): (&str, &str),
    meta: &'static ModuleMeta,
    row: &str,
    sql: &'q mut String,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    *sql = format!(
        "SELECT {what} FROM aegis_history WHERE feature = {} AND row_id = {} {rest}",
        db.param(1),
        db.param(2)
    );
    sqlx::query(sql).bind(meta.feature).bind(row.to_owned())
}

/// The import batch that made `meta`'s row `row` (ids are integers), if
/// one did: its entry's id, who imported it and when.
async fn batch(
    db: &Db,
    tx: &mut Tx,
    meta: &'static ModuleMeta,
    row: &str,
) -> Result<Option<(u64, String, DateTime<Utc>)>, Error> {
    let Ok(id) = row.parse::<i64>() else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT id, user_id, at, last_id FROM aegis_history WHERE feature = {} AND \
         first_id IS NOT NULL AND first_id <= {} ORDER BY first_id DESC LIMIT 1",
        db.param(1),
        db.param(2)
    );
    let found = sqlx::query(&sql)
        .bind(meta.feature)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(found) = found.filter(|r| r.try_get::<i64, _>(3).is_ok_and(|last| last >= id)) else {
        return Ok(None);
    };
    let user: String = found.try_get(1)?;
    Ok(Some((
        found.try_get::<i64, _>(0)? as u64,
        user,
        time(&found.try_get::<String, _>(2)?)?,
    )))
}

/// The row as an import batch made it: as its oldest own entry found it
/// (an update's row with its old values put back, or a deleted row), or,
/// with none, `current` (the row as it is).
async fn as_created(
    db: &Db,
    tx: &mut Tx,
    meta: &'static ModuleMeta,
    row: &str,
    current: &Value,
) -> Result<Value, Error> {
    let mut sql = String::new();
    let oldest = own_entries(
        db,
        (ENTRY_COLUMNS, "ORDER BY id LIMIT 1"),
        meta,
        row,
        &mut sql,
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(oldest) = oldest else {
        return Ok(current.clone());
    };
    let Stored { entry, mut state } = read_entry(meta, &oldest)?;
    if entry.action == HistoryAction::Updated {
        for change in entry.changes {
            state[&change.field] = change.old;
        }
    }
    Ok(state)
}

/// The created entry of a row an import batch made, from the batch's
/// entry `(id, user, at)`.
async fn batch_entry(
    db: &Db,
    tx: &mut Tx,
    (meta, row, current): (&'static ModuleMeta, &str, &Value),
    (id, user, at): (u64, String, DateTime<Utc>),
) -> Result<Stored, Error> {
    let state = as_created(db, tx, meta, row, current).await?;
    let entry = HistoryEntry {
        id,
        action: HistoryAction::Created,
        version: meta.version_field().map(|_| 1),
        user_id: user,
        at,
        changes: whole(meta, HistoryAction::Created, &state),
        restores: None,
        withheld: false,
    };
    Ok(Stored { entry, state })
}

/// One page of the history of `meta`'s row `row`, newest first, and how
/// many entries it has; `current` is the row as it is (or as it was
/// deleted).
pub(crate) async fn page(
    db: &Db,
    (meta, row, current): (&'static ModuleMeta, &str, &Value),
    (page, page_size): (u32, u32),
    filter: Option<&RowFilter>,
) -> Result<(Vec<HistoryEntry>, u64), Error> {
    let mut tx = db.begin_snapshot().await?;
    let mut sql = String::new();
    let own: i64 = own_entries(db, ("COUNT(*)", ""), meta, row, &mut sql)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let offset = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    let which = format!("ORDER BY id DESC LIMIT {page_size} OFFSET {offset}");
    let mut sql = String::new();
    let rows = own_entries(db, (ENTRY_COLUMNS, &which), meta, row, &mut sql)
        .fetch_all(&mut *tx)
        .await?;
    let shown = |stored: Stored| match visible(filter, &stored) {
        true => stored.entry,
        false => withheld(stored.entry),
    };
    let mut entries = rows
        .iter()
        .map(|row| read_entry(meta, row).map(shown))
        .collect::<Result<Vec<_>, _>>()?;
    // An imported row's created entry is its batch's, older than its own.
    let made = batch(db, &mut tx, meta, row).await?;
    let own = own as u64;
    if let Some(made) = made
        .as_ref()
        .filter(|_| (offset..offset + u64::from(page_size)).contains(&own))
    {
        let created = batch_entry(db, &mut tx, (meta, row, current), made.clone()).await?;
        entries.push(shown(created));
    }
    tx.commit().await?;
    Ok((entries, own + u64::from(made.is_some())))
}

/// The entry `id` of `meta`'s row `row`, if it has one (`current`: the
/// row as it is, for an imported row's created version).
pub(crate) async fn entry(
    db: &Db,
    tx: &mut Tx,
    (meta, row, current): (&'static ModuleMeta, &str, &Value),
    id: u64,
) -> Result<Option<Stored>, Error> {
    let (mut sql, which) = (String::new(), format!("AND id = {id}"));
    let found = own_entries(db, (ENTRY_COLUMNS, &which), meta, row, &mut sql)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(found) = found {
        return read_entry(meta, &found).map(Some);
    }
    match batch(db, tx, meta, row).await? {
        Some(made) if made.0 == id => {
            Ok(Some(batch_entry(db, tx, (meta, row, current), made).await?))
        }
        _ => Ok(None),
    }
}

/// The newest of `meta`'s row `row`'s own entries, if it has any.
pub(crate) async fn newest(
    db: &Db,
    tx: &mut Tx,
    meta: &'static ModuleMeta,
    row: &str,
) -> Result<Option<Stored>, Error> {
    let mut sql = String::new();
    let found = own_entries(
        db,
        (ENTRY_COLUMNS, "ORDER BY id DESC LIMIT 1"),
        meta,
        row,
        &mut sql,
    )
    .fetch_optional(&mut **tx)
    .await?;
    found.map(|row| read_entry(meta, &row)).transpose()
}

/// Forgets entries made before `cutoff`: a run from the oldest, `batch`
/// at a time, each its own short statement; how many. Ids grow with time
/// closely enough that an entry older than the cutoff behind a newer one
/// waits for the next pass.
pub(crate) async fn prune(db: &Db, cutoff: DateTime<Utc>, batch: u64) -> Result<u64, Error> {
    let batch = batch.max(1);
    let oldest = format!("SELECT id, at FROM aegis_history ORDER BY id LIMIT {batch}");
    let delete = format!("DELETE FROM aegis_history WHERE id <= {}", db.param(1));
    let cutoff = crate::log::timestamp_text(cutoff);
    let mut deleted = 0;
    loop {
        let rows = sqlx::query(&oldest).fetch_all(db.read_pool()).await?;
        let mut old = Vec::new();
        for row in &rows {
            if row.try_get::<String, _>(1)? >= cutoff {
                break;
            }
            old.push(row.try_get::<i64, _>(0)?);
        }
        let Some(&last) = old.last() else {
            return Ok(deleted);
        };
        deleted += sqlx::query(&delete)
            .bind(last)
            .execute(db.pool())
            .await?
            .rows_affected();
        if (old.len() as u64) < batch {
            return Ok(deleted);
        }
    }
}
