//! Which row's field holds which file (`aegis_file_refs`), written by
//! [`crate::rows`] in the row's transaction, after checking that what the
//! row holds is a file stored as it says.

use serde_json::{Map, Value};

use super::{fields, parse, sniff, stored};
use crate::entity::ModuleMeta;
use crate::error::Error;
use crate::protocol::FieldError;
use crate::store::{Db, Tx};

/// A row's id as the references keep it: its text, or its number's.
fn row_key(id: &Value) -> String {
    match id {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The file `value` holds for `field`, checked against its upload: `None`
/// for no file; `Err` with why for anything but a file stored as it says.
async fn checked(
    db: &Db,
    tx: &mut Tx,
    value: Option<&Value>,
) -> Result<Result<Option<String>, String>, Error> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Ok(None));
    };
    let Some(file) = parse(value) else {
        return Ok(Err(
            "is not a file: upload it first and send what the upload answered".into(),
        ));
    };
    if let Some(problem) = sniff::bad_name(&file.name) {
        return Ok(Err(problem));
    }
    Ok(match stored(db, &mut **tx, &file.id).await? {
        None => Err(format!(
            "no file `{}` is stored (never uploaded, or collected since); upload it again",
            file.id
        )),
        Some(stored) if stored.size != file.size || stored.content_type != file.content_type => {
            Err("does not match its upload: send the size and type the upload answered".into())
        }
        Some(_) => Ok(Some(file.id)),
    })
}

/// What is wrong with the files a row (`object`, of `meta`) holds, field
/// by field: what a write would refuse, for an import to report per row.
pub(crate) async fn problems(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    object: &Map<String, Value>,
) -> Result<Vec<FieldError>, Error> {
    let mut found = Vec::new();
    for field in fields(meta) {
        if let Err(message) = checked(db, tx, object.get(field.wire_name)).await? {
            found.push(FieldError {
                field: field.wire_name.to_owned(),
                message,
            });
        }
    }
    Ok(found)
}

/// Records the files new rows (`objects`, rows of `meta`) hold.
pub(crate) async fn insert(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    objects: &[Map<String, Value>],
) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO aegis_file_refs (feature, field, row_id, file_id) VALUES ({})",
        (1..=4).map(|n| db.param(n)).collect::<Vec<_>>().join(", ")
    );
    let id = meta.id_field();
    for field in fields(meta) {
        for object in objects {
            let file = match checked(db, tx, object.get(field.wire_name)).await? {
                Ok(Some(file)) => file,
                Ok(None) => continue,
                Err(message) => {
                    return Err(Error::fields(vec![FieldError {
                        field: field.wire_name.to_owned(),
                        message,
                    }]));
                }
            };
            sqlx::query(&sql)
                .bind(meta.feature)
                .bind(field.name)
                .bind(row_key(object.get(id.wire_name).unwrap_or(&Value::Null)))
                .bind(file)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Forgets the files the row `id` of `meta` held.
pub(crate) async fn remove(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    id: &Value,
) -> Result<(), Error> {
    if fields(meta).next().is_none() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM aegis_file_refs WHERE feature = {} AND row_id = {}",
        db.param(1),
        db.param(2)
    );
    let forgotten = sqlx::query(&sql)
        .bind(meta.feature)
        .bind(row_key(id))
        .execute(&mut **tx)
        .await?;
    if forgotten.rows_affected() > 0 {
        super::collect::soon();
    }
    Ok(())
}

/// Replaces what the row `object` (of `meta`) is recorded to hold.
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
