//! The rows of a module's table: ids, inserts and reads, as the REST
//! routes ([`crate::crud`]) and import jobs ([`crate::import`]) write them.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::entity::{CrudEntity, FieldKind, FieldMeta, FieldRole, ModuleMeta};
use crate::error::Error;
use crate::store::{Db, SEARCH_COLUMN, Tx, search_text, searchable};

pub(crate) fn id_value<T: CrudEntity>(id: &T::Id) -> Result<Value, Error> {
    serde_json::to_value(id).map_err(|e| Error::Internal(format!("cannot serialise an id: {e}")))
}

/// An entity, or an input, as the JSON object serde makes of it.
pub(crate) fn to_object(value: &impl Serialize) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Internal(
            "an entity must serialise as an object".into(),
        )),
        Err(e) => Err(Error::Internal(format!("cannot serialise an entity: {e}"))),
    }
}

pub(crate) fn from_object<T: CrudEntity>(object: Map<String, Value>) -> Result<T, Error> {
    serde_json::from_value(Value::Object(object)).map_err(|e| {
        Error::Internal(format!(
            "a stored {} does not deserialise: {e}",
            T::meta().entity
        ))
    })
}

/// `count` new ids, the counter moved once for all of them.
pub(crate) async fn allocate_ids<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    count: usize,
) -> Result<Vec<T::Id>, Error> {
    let meta = T::meta();
    let values: Vec<Value> = if meta.id_field().kind == FieldKind::Integer {
        let bump = format!(
            "UPDATE aegis_features SET next_id = next_id + {} WHERE feature = {} \
             RETURNING next_id - {}",
            db.param(1),
            db.param(2),
            db.param(1)
        );
        let row = sqlx::query(&bump)
            .bind(count as i64)
            .bind(meta.feature)
            .fetch_one(&mut **tx)
            .await?;
        let first: i64 = row.try_get(0)?;
        (first..first + count as i64).map(Value::from).collect()
    } else {
        (0..count)
            .map(|_| Value::String(uuid::Uuid::new_v4().to_string()))
            .collect()
    };
    values.into_iter().map(id_from::<T>).collect()
}

/// A new id, as the entity's id type, from the JSON value allocated for it.
fn id_from<T: CrudEntity>(value: Value) -> Result<T::Id, Error> {
    serde_json::from_value(value).map_err(|e| Error::Internal(format!("cannot make an id: {e}")))
}

/// Ids for `count` new entities and, for a module with events and
/// integer ids, the first of the `count` seqs their `created` events take:
/// the counter row moved once for both, so a create (or a batch of them)
/// holds it for one round trip fewer. Otherwise the seqs are `None`: a
/// module whose ids are not integers takes v4 UUIDs and no lock for them,
/// and its seqs at the events.
pub(crate) async fn reserve<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    count: usize,
    with_events: bool,
) -> Result<(Vec<T::Id>, Option<u64>), Error> {
    let meta = T::meta();
    if !with_events || meta.id_field().kind != FieldKind::Integer {
        return Ok((allocate_ids::<T>(db, tx, count).await?, None));
    }
    let bump = format!(
        "UPDATE aegis_features SET next_id = next_id + {n}, seq = seq + {n} WHERE feature = {} \
         RETURNING next_id - {n}, seq - {n} + 1",
        db.param(2),
        n = db.param(1),
    );
    let row = sqlx::query(&bump)
        .bind(count as i64)
        .bind(meta.feature)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| crate::log::no_table(meta.feature))?;
    let first: i64 = row.try_get(0)?;
    let ids = (first..first + count as i64)
        .map(|id| id_from::<T>(Value::from(id)))
        .collect::<Result<_, _>>()?;
    Ok((ids, Some(row.try_get::<i64, _>(1)? as u64)))
}

/// Rows one `INSERT` writes at most (bind parameters stay far below
/// SQLite's and PostgreSQL's limits).
const ROWS_PER_INSERT: usize = 100;

/// Inserts an entity's row.
#[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "insert_row", module = T::meta().module))]
pub(crate) async fn insert_row<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    entity: &T,
) -> Result<(), Error> {
    insert_rows(db, tx, std::slice::from_ref(entity)).await
}

/// Inserts entities' rows, up to [`ROWS_PER_INSERT`] per statement.
#[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "insert_rows", module = T::meta().module))]
pub(crate) async fn insert_rows<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    entities: &[T],
) -> Result<(), Error> {
    let meta = T::meta();
    let searched = searchable(meta).next().is_some();
    let mut columns = db.column_list(meta);
    let mut per_row = meta.fields.len();
    if searched {
        columns.push_str(&format!(", {}", db.ident(SEARCH_COLUMN)));
        per_row += 1;
    }
    for chunk in entities.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO {} ({columns}) VALUES {}",
            db.ident(meta.module),
            db.values_rows(chunk.len(), per_row)
        );
        let objects = chunk.iter().map(to_object).collect::<Result<Vec<_>, _>>()?;
        let mut query = sqlx::query(&sql);
        for object in &objects {
            for field in meta.fields {
                query = db.bind(query, field, object.get(field.wire_name));
            }
            if searched {
                query = query.bind(search_text(meta, object));
            }
        }
        query.execute(&mut **tx).await?;
        crate::links::insert(db, tx, meta, &objects).await?;
        crate::files::refs::insert(db, tx, meta, &objects).await?;
    }
    Ok(())
}

#[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "fetch_row", module = T::meta().module))]
pub(crate) async fn fetch_row<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    id: &T::Id,
) -> Result<Option<T>, Error> {
    let meta = T::meta();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {}",
        db.column_list(meta),
        db.ident(meta.module),
        db.ident(meta.id_field().name),
        db.param(1)
    );
    let query = db.bind(
        sqlx::query(&sql),
        meta.id_field(),
        Some(&id_value::<T>(id)?),
    );
    match query.fetch_optional(&mut **tx).await? {
        Some(row) => Ok(Some(from_object(db.read_row(&row, meta)?)?)),
        None => Ok(None),
    }
}

/// Writes every column of `entity` but its id; with `base_version`, only
/// if the row still has that version (the version moves with the write).
/// `false` when no row was written: none with that id, or another version.
#[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "update_row", module = T::meta().module))]
pub(crate) async fn update_row<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    entity: &T,
    base_version: Option<i64>,
) -> Result<bool, Error> {
    update_object(db, tx, T::meta(), &to_object(entity)?, base_version).await
}

/// [`update_row`] for a row of `meta` as its JSON object (the id in it),
/// for rows changed without their Rust type at hand.
pub(crate) async fn update_object(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    object: &Map<String, Value>,
    base_version: Option<i64>,
) -> Result<bool, Error> {
    let written: Vec<&FieldMeta> = meta
        .fields
        .iter()
        .filter(|f| f.role != FieldRole::Id)
        .collect();
    let mut n = 0;
    let mut next = || {
        n += 1;
        db.param(n)
    };
    let mut assignments: Vec<String> = written
        .iter()
        .map(|f| format!("{} = {}", db.ident(f.name), next()))
        .collect();
    let search = search_text(meta, object);
    if search.is_some() {
        assignments.push(format!("{} = {}", db.ident(SEARCH_COLUMN), next()));
    }
    let mut sql = format!(
        "UPDATE {} SET {} WHERE {} = {}",
        db.ident(meta.module),
        assignments.join(", "),
        db.ident(meta.id_field().name),
        next()
    );
    let version_field = meta.version_field().filter(|_| base_version.is_some());
    if let Some(version) = version_field {
        sql.push_str(&format!(" AND {} = {}", db.ident(version.name), next()));
    }
    let mut query = sqlx::query(&sql);
    for field in &written {
        query = db.bind(query, field, object.get(field.wire_name));
    }
    if let Some(search) = search {
        query = query.bind(search);
    }
    let id_field = meta.id_field();
    query = db.bind(query, id_field, object.get(id_field.wire_name));
    if let (Some(version), Some(base)) = (version_field, base_version) {
        query = db.bind(query, version, Some(&Value::from(base)));
    }
    let written = query.execute(&mut **tx).await?.rows_affected() > 0;
    if written {
        crate::links::replace(db, tx, meta, object).await?;
        crate::files::refs::replace(db, tx, meta, object).await?;
    }
    Ok(written)
}

/// Deletes the row of `id`; `false` when there was none.
#[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "delete_row", module = T::meta().module))]
pub(crate) async fn delete_row<T: CrudEntity>(
    db: &Db,
    tx: &mut Tx,
    id: &T::Id,
) -> Result<bool, Error> {
    delete_by_id(db, tx, T::meta(), &id_value::<T>(id)?).await
}

/// [`delete_row`] for a row of `meta` by its id as JSON.
pub(crate) async fn delete_by_id(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    id: &Value,
) -> Result<bool, Error> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = {}",
        db.ident(meta.module),
        db.ident(meta.id_field().name),
        db.param(1)
    );
    let query = db.bind(sqlx::query(&sql), meta.id_field(), Some(id));
    let deleted = query.execute(&mut **tx).await?.rows_affected() > 0;
    if deleted {
        crate::links::remove(db, tx, meta, id).await?;
        crate::files::refs::remove(db, tx, meta, id).await?;
    }
    Ok(deleted)
}
