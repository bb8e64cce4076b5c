//! A field's JSON value to its column and back, for any of sqlx's
//! databases: the `Any` connections most work runs on, and the native
//! SQLite connections a view's reads run on ([`crate::reads`]).
//!
//! Integers are stored as BIGINT, floats as DOUBLE PRECISION, booleans as
//! BOOLEAN (INTEGER 0/1 on SQLite), strings and what serialises as a
//! string as TEXT, anything else as its JSON text.

use std::str::FromStr;

use serde_json::{Map, Value};
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Row, Type};

use super::Dialect;
use crate::entity::{FieldKind, FieldMeta, ModuleMeta};
use crate::error::Error;

/// The value a column of `field` is given for `value`: none (SQL `NULL`)
/// for a missing value or JSON `null`, but for a JSON field that is not
/// nullable, whose `null` is a value of its own, stored as the text
/// `null`.
pub(crate) fn stored<'v>(field: &FieldMeta, value: Option<&'v Value>) -> Option<&'v Value> {
    const NULL: &Value = &Value::Null;
    match value {
        None | Some(Value::Null) if field.kind == FieldKind::Json && !field.nullable => Some(NULL),
        None | Some(Value::Null) => None,
        Some(value) => Some(value),
    }
}

/// Binds a JSON value to a query as the column of `field` stores it.
pub(crate) fn bind<'q, DB>(
    query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    field: &FieldMeta,
    value: Option<&Value>,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
{
    let value = stored(field, value);
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
pub(crate) fn read_row<R>(
    dialect: Dialect,
    row: &R,
    meta: &ModuleMeta,
) -> Result<Map<String, Value>, Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<bool>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut object = Map::new();
    for (index, field) in meta.fields.iter().enumerate() {
        object.insert(
            field.wire_name.to_owned(),
            read_value(dialect, row, index, field)?,
        );
    }
    Ok(object)
}

/// Column `index` of a row as `field`'s JSON value.
pub(crate) fn read_value<R>(
    dialect: Dialect,
    row: &R,
    index: usize,
    field: &FieldMeta,
) -> Result<Value, Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<bool>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let value = match field.kind {
        FieldKind::Integer => row.try_get::<Option<i64>, _>(index)?.map(Value::from),
        FieldKind::Float => row.try_get::<Option<f64>, _>(index)?.map(Value::from),
        FieldKind::Boolean => match dialect {
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
