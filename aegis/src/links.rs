//! Many-to-many links (`#[crud(many = "tags")]`): a field listing another
//! module's ids. Each link is a row of the table `<module>_<field>`
//! (`row_id`, `target_id`; the primary key on both, and an index on the
//! linked id first, so both ways are looked up by an index), which the
//! `has` and `has_any` filters and a linked row's delete read. The linking
//! row keeps the list as well, in the field's own column, so a page, an
//! event or an export reads it with the row; [`crate::rows`] writes both
//! in the row's transaction, so they never disagree.

use serde_json::{Map, Value};
use sqlx::Row;

use crate::entity::{FieldKind, FieldMeta, ModuleMeta};
use crate::error::Error;
use crate::query::{LINK_ROW, LINK_TARGET, LinkTable};
use crate::store::{Db, Dialect, Tx};

/// Links one `INSERT` writes at most.
const LINKS_PER_INSERT: usize = 200;

/// What is wrong with a many-to-many field's list of ids: more than
/// [`MAX_LINKS`](aegis_protocol::query::MAX_LINKS), or one twice.
pub(crate) fn violation(value: &Value) -> Option<String> {
    let ids = value.as_array()?;
    let most = aegis_protocol::query::MAX_LINKS;
    if ids.len() > most {
        return Some(format!("lists at most {most} rows, not {}", ids.len()));
    }
    let mut seen = std::collections::HashSet::new();
    let twice = ids.iter().find(|id| !seen.insert(id.to_string()))?;
    Some(format!(
        "lists {} twice",
        twice
            .as_str()
            .map_or_else(|| twice.to_string(), str::to_owned)
    ))
}

/// The many-to-many fields of `meta`.
pub(crate) fn fields(meta: &ModuleMeta) -> impl Iterator<Item = &'static FieldMeta> + '_ {
    meta.fields.iter().filter(|f| f.many.is_some())
}

/// The column type of ids stored as `kind`.
fn id_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Integer => "BIGINT",
        _ => "TEXT",
    }
}

/// Makes the link tables of `meta` that do not exist yet, each filled from
/// the lists its rows already hold (a field that held ids before it was
/// declared `many`).
pub(crate) async fn create_tables(db: &Db, meta: &ModuleMeta) -> Result<(), Error> {
    for field in fields(meta) {
        let many = field.many.expect("a many-to-many field");
        let links = LinkTable::of(meta, field);
        // Serialised with other instances starting: one makes and fills it.
        let mut tx = db.schema_tx().await?;
        if table_exists(db, &mut tx, &links.table).await? {
            continue;
        }
        let sql = format!(
            "CREATE TABLE {} ({} {} NOT NULL, {} {} NOT NULL, PRIMARY KEY ({}, {}))",
            db.ident(&links.table),
            db.ident(LINK_ROW),
            id_type(meta.id_field().kind),
            db.ident(LINK_TARGET),
            id_type(many.ids),
            db.ident(LINK_ROW),
            db.ident(LINK_TARGET),
        );
        sqlx::query(&sql).execute(&mut *tx).await?;
        let index = format!(
            "CREATE INDEX {} ON {} ({}, {})",
            db.ident(&format!("aegis_links_{}", links.table)),
            db.ident(&links.table),
            db.ident(LINK_TARGET),
            db.ident(LINK_ROW),
        );
        sqlx::query(&index).execute(&mut *tx).await?;
        backfill(db, &mut tx, meta, field).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn table_exists(db: &Db, tx: &mut Tx, table: &str) -> Result<bool, Error> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = \
             current_schema() AND table_name = $1"
        }
    };
    let found: i64 = sqlx::query(sql)
        .bind(table)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(found > 0)
}

/// The links the rows of `meta` already list in `field`.
async fn backfill(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    field: &'static FieldMeta,
) -> Result<(), Error> {
    let id = meta.id_field();
    let sql = format!(
        "SELECT {}, {} FROM {}",
        db.ident(id.name),
        db.ident(field.name),
        db.ident(meta.module)
    );
    let rows = sqlx::query(&sql).fetch_all(&mut **tx).await?;
    let mut objects = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut object = Map::new();
        let id_value = crate::store::values::read_value(db.dialect(), row, 0, id)?;
        object.insert(id.wire_name.to_owned(), id_value);
        // A list that names an id twice links it once.
        let mut list = crate::store::values::read_value(db.dialect(), row, 1, field)?;
        if let Value::Array(ids) = &mut list {
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.to_string()));
        }
        object.insert(field.wire_name.to_owned(), list);
        objects.push(object);
    }
    write(db, tx, meta, &objects).await
}

/// The ids `object` lists in `field` (none when the value is no list).
fn listed<'a>(object: &'a Map<String, Value>, field: &FieldMeta) -> &'a [Value] {
    object
        .get(field.wire_name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Writes the links of new rows (`objects`, rows of `meta`), as their
/// hooks left them: a 422 for a list with an id twice or too many.
pub(crate) async fn insert(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    objects: &[Map<String, Value>],
) -> Result<(), Error> {
    for field in fields(meta) {
        let broken = objects
            .iter()
            .find_map(|object| violation(object.get(field.wire_name)?));
        if let Some(message) = broken {
            return Err(Error::fields(vec![crate::protocol::FieldError {
                field: field.wire_name.to_owned(),
                message,
            }]));
        }
    }
    write(db, tx, meta, objects).await
}

/// Writes the links `objects` (rows of `meta`) list.
async fn write(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    objects: &[Map<String, Value>],
) -> Result<(), Error> {
    let id = meta.id_field();
    for field in fields(meta) {
        let links: Vec<(&Value, &Value)> = objects
            .iter()
            .flat_map(|object| {
                let row = object.get(id.wire_name).unwrap_or(&Value::Null);
                listed(object, field)
                    .iter()
                    .map(move |target| (row, target))
            })
            .collect();
        let table = LinkTable::of(meta, field).table;
        for chunk in links.chunks(LINKS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES {}",
                db.ident(&table),
                db.ident(LINK_ROW),
                db.ident(LINK_TARGET),
                db.values_rows(chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for (row, target) in chunk {
                query = db.bind(query, id, Some(row));
                query = bind_id(query, target);
            }
            query.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Binds a linked id as its JSON holds it: a number or a text.
pub(crate) fn bind_id<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    id: &Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match id {
        Value::Number(n) => query.bind(n.as_i64().unwrap_or_default()),
        other => query.bind(other.as_str().unwrap_or_default().to_owned()),
    }
}

/// Removes every link of the row `id` of `meta`.
pub(crate) async fn remove(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    id: &Value,
) -> Result<(), Error> {
    for field in fields(meta) {
        let sql = format!(
            "DELETE FROM {} WHERE {} = {}",
            db.ident(&LinkTable::of(meta, field).table),
            db.ident(LINK_ROW),
            db.param(1)
        );
        let query = db.bind(sqlx::query(&sql), meta.id_field(), Some(id));
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Replaces the links of the row `object` (a row of `meta`) with those it lists.
pub(crate) async fn replace(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    object: &Map<String, Value>,
) -> Result<(), Error> {
    if fields(meta).next().is_none() {
        return Ok(());
    }
    let id = object
        .get(meta.id_field().wire_name)
        .unwrap_or(&Value::Null);
    remove(db, tx, meta, id).await?;
    insert(db, tx, meta, std::slice::from_ref(object)).await
}
