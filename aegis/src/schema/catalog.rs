//! What the database says and keeps about the modules' tables: their
//! columns as they are, the model recorded in `aegis_schema` with each
//! applied plan, the counters, and the search column's contents.

use serde::Serialize;
use sqlx::Row;

use super::Column;
use crate::entity::{FieldKind, FieldMeta, FieldRole, ModuleMeta};
use crate::error::Error;
use crate::store::{Db, Dialect, SEARCH_COLUMN, Tx, searchable};
use serde_json::Value;

/// A module's storage model as recorded in `aegis_schema`: enough to tell
/// changes the column types alone do not show (text to JSON, a version
/// moved to another column).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(super) struct RecordedColumn {
    pub(super) name: String,
    #[serde(with = "stored_kind")]
    pub(super) kind: FieldKind,
    pub(super) nullable: bool,
    #[serde(with = "stored_role")]
    pub(super) role: FieldRole,
    /// In the search column (older records: taken as not).
    #[serde(default)]
    pub(super) searchable: bool,
}

pub(super) fn recorded_model(meta: &ModuleMeta) -> Vec<RecordedColumn> {
    meta.fields
        .iter()
        .map(|field| RecordedColumn {
            name: field.name.to_owned(),
            kind: field.kind,
            nullable: field.nullable,
            role: field.role,
            searchable: field.kind == FieldKind::Text && !field.hidden,
        })
        .collect()
}

/// A recorded kind as its stored name ([`FieldKind::as_str`]); a name no
/// kind has is an error naming it.
mod stored_kind {
    use crate::entity::FieldKind;

    pub(super) fn serialize<S: serde::Serializer>(
        kind: &FieldKind,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        to.serialize_str(kind.as_str())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        from: D,
    ) -> Result<FieldKind, D::Error> {
        let name: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(from)?;
        FieldKind::from_stored(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is no stored field kind")))
    }
}

/// A recorded role as its stored name ([`FieldRole::as_str`]).
mod stored_role {
    use crate::entity::FieldRole;

    pub(super) fn serialize<S: serde::Serializer>(
        role: &FieldRole,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        to.serialize_str(role.as_str())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        from: D,
    ) -> Result<FieldRole, D::Error> {
        let name: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(from)?;
        FieldRole::from_stored(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is no stored field role")))
    }
}

/// FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`.
pub(super) fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

pub(super) async fn read_columns(db: &Db, tx: &mut Tx, table: &str) -> Result<Vec<Column>, Error> {
    let rows = match db.dialect() {
        Dialect::Sqlite => {
            sqlx::query(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
        }
        Dialect::Postgres => {
            sqlx::query(
                "SELECT c.column_name::text, upper(c.data_type::text), \
                 (CASE WHEN c.is_nullable::text = 'NO' THEN 1 ELSE 0 END)::bigint, \
                 (CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                    JOIN information_schema.key_column_usage k \
                      ON k.constraint_name = t.constraint_name \
                     AND k.constraint_schema = t.constraint_schema \
                    WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema \
                      AND t.table_name = c.table_name AND k.column_name = c.column_name) \
                  THEN 1 ELSE 0 END)::bigint \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name = $1 \
                 ORDER BY c.ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(Column {
                name: row.try_get(0)?,
                sql_type: row.try_get::<String, _>(1)?.to_uppercase(),
                not_null: row.try_get::<i64, _>(2)? != 0,
                primary_key: row.try_get::<i64, _>(3)? != 0,
            })
        })
        .collect()
}

pub(super) async fn latest_record(
    db: &Db,
    tx: &mut Tx,
    module: &str,
) -> Result<Option<(String, Vec<RecordedColumn>)>, Error> {
    let query = format!(
        "SELECT fingerprint, model FROM aegis_schema WHERE module = {} \
         ORDER BY applied_at DESC LIMIT 1",
        db.param(1)
    );
    let Some(row) = sqlx::query(&query)
        .bind(module)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let model: String = row.try_get(1)?;
    let model = serde_json::from_str(&model).map_err(|e| {
        Error::Internal(format!(
            "aegis_schema holds a bad model for `{module}`: {e}"
        ))
    })?;
    Ok(Some((row.try_get(0)?, model)))
}

pub(super) async fn count_rows(
    db: &Db,
    tx: &mut Tx,
    table: &str,
    filter: &str,
) -> Result<u64, Error> {
    let query = format!("SELECT COUNT(*) FROM {}{filter}", db.ident(table));
    let row = sqlx::query(&query).fetch_one(&mut **tx).await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

/// Computes the search column of every row, a keyset batch at a time.
pub(super) async fn fill_search(db: &Db, tx: &mut Tx, meta: &ModuleMeta) -> Result<u64, Error> {
    const BATCH: i64 = 1000;
    let id = meta.id_field();
    let fields: Vec<&FieldMeta> = searchable(meta).collect();
    let columns: Vec<String> = fields.iter().map(|f| db.ident(f.name)).collect();
    let integer_id = id.kind == FieldKind::Integer;
    let select = |after: bool| {
        format!(
            "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT {BATCH}",
            db.ident(id.name),
            columns.join(", "),
            db.ident(meta.module),
            if after {
                format!(" WHERE {} > {}", db.ident(id.name), db.param(1))
            } else {
                String::new()
            },
            db.ident(id.name)
        )
    };
    let update = format!(
        "UPDATE {} SET {} = {} WHERE {} = {}",
        db.ident(meta.module),
        db.ident(SEARCH_COLUMN),
        db.param(1),
        db.ident(id.name),
        db.param(2)
    );
    let mut last: Option<Value> = None;
    let mut filled = 0;
    loop {
        let sql = select(last.is_some());
        let mut query = sqlx::query(&sql);
        if let Some(last) = &last {
            query = db.bind(query, id, Some(last));
        }
        let rows = query.fetch_all(&mut **tx).await?;
        for row in &rows {
            let key = if integer_id {
                Value::from(row.try_get::<i64, _>(0)?)
            } else {
                Value::from(row.try_get::<String, _>(0)?)
            };
            let mut text = Vec::with_capacity(fields.len());
            for index in 0..fields.len() {
                if let Some(value) = row.try_get::<Option<String>, _>(index + 1)? {
                    text.push(value.to_lowercase());
                }
            }
            let query = sqlx::query(&update).bind(text.join("\n"));
            db.bind(query, id, Some(&key)).execute(&mut **tx).await?;
            last = Some(key);
            filled += 1;
        }
        if (rows.len() as i64) < BATCH {
            return Ok(filled);
        }
    }
}

/// Records the model in `aegis_schema` when it is new to the table or
/// when statements were applied.
pub(super) async fn record(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    statements: &[String],
    filled_search: bool,
) -> Result<(), Error> {
    let model = serde_json::to_string(&recorded_model(meta))
        .map_err(|e| Error::Internal(format!("cannot serialise a module's model: {e}")))?;
    let print = fingerprint(&model);
    let latest = latest_record(db, tx, meta.module).await?;
    if statements.is_empty()
        && !filled_search
        && latest.is_some_and(|(recorded, _)| recorded == print)
    {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO aegis_schema (module, fingerprint, model, statements, applied_at) \
         VALUES ({}, {}, {}, {}, {})",
        db.param(1),
        db.param(2),
        db.param(3),
        db.param(4),
        db.param(5)
    );
    let statements = serde_json::to_string(statements)
        .map_err(|e| Error::Internal(format!("cannot serialise statements: {e}")))?;
    sqlx::query(&insert)
        .bind(meta.module)
        .bind(print)
        .bind(model)
        .bind(statements)
        .bind(crate::log::timestamp_text(chrono::Utc::now()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The feature's row of counters (seq, next id), made once.
pub(super) async fn ensure_counters(db: &Db, tx: &mut Tx, meta: &ModuleMeta) -> Result<(), Error> {
    let next_id = if meta.id_field().kind == FieldKind::Integer {
        format!(
            "(SELECT COALESCE(MAX({}), 0) + 1 FROM {})",
            db.ident(meta.id_field().name),
            db.ident(meta.module)
        )
    } else {
        "1".to_owned()
    };
    let insert = format!(
        "INSERT INTO aegis_features (feature, seq, next_id) VALUES ({}, 0, {next_id}) \
         ON CONFLICT (feature) DO NOTHING",
        db.param(1)
    );
    sqlx::query(&insert)
        .bind(meta.feature)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}

#[cfg(test)]
mod stored_names {
    use super::*;

    /// The names records already hold: changing one would make every
    /// stored record unreadable, so this table is the contract.
    const STORED_KINDS: [&str; 5] = ["integer", "float", "boolean", "text", "json"];
    const STORED_ROLES: [&str; 3] = ["id", "version", "data"];

    #[test]
    fn kinds_and_roles_keep_their_stored_names() {
        let kinds: Vec<&str> = FieldKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, STORED_KINDS);
        let roles: Vec<&str> = FieldRole::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(roles, STORED_ROLES);
        for kind in FieldKind::ALL {
            assert_eq!(FieldKind::from_stored(kind.as_str()), Some(kind));
        }
        for role in FieldRole::ALL {
            assert_eq!(FieldRole::from_stored(role.as_str()), Some(role));
        }
    }

    #[test]
    fn a_record_reads_back_and_an_unknown_stored_name_is_an_error() {
        let record = r#"[{"name":"id","kind":"integer","nullable":false,"role":"id","searchable":false},
            {"name":"note","kind":"text","nullable":true,"role":"data"}]"#;
        let model: Vec<RecordedColumn> = serde_json::from_str(record).unwrap();
        assert_eq!(model[0].role, FieldRole::Id);
        assert_eq!(
            (model[1].kind, model[1].searchable),
            (FieldKind::Text, false)
        );
        let again = serde_json::to_value(&model).unwrap();
        assert_eq!(again[1]["kind"], "text");
        assert_eq!(again[0]["role"], "id");

        let unknown = r#"[{"name":"a","kind":"texty","nullable":false,"role":"data"}]"#;
        let error = serde_json::from_str::<Vec<RecordedColumn>>(unknown).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`texty` is no stored field kind"),
            "{error}"
        );
        let unknown = r#"[{"name":"a","kind":"text","nullable":false,"role":"key"}]"#;
        let error = serde_json::from_str::<Vec<RecordedColumn>>(unknown).unwrap_err();
        assert!(
            error.to_string().contains("`key` is no stored field role"),
            "{error}"
        );
    }
}
