//! References between modules (`#[crud(references = "authors")]`), kept
//! true by the runtime: a reference to a row that does not exist is a 422
//! naming the field (a row error in an import); deleting a referenced row
//! is refused with a 409 naming who references it, or, as the reference
//! says, deletes the referencing rows too (`cascade`) or empties their
//! field (`set_null`), in the same transaction, with the events of every
//! row it touched. The referencing columns are indexed.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::entity::{FieldMeta, ModuleMeta, ModuleSettings, OnDelete};
use crate::error::Error;
use crate::events::sent_data;
use crate::log::Change;
use crate::protocol::{EventAction, FieldError};
use crate::rows::{delete_by_id, update_object};
use crate::store::{Db, Tx};

/// A served module, as references see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Served {
    pub meta: &'static ModuleMeta,
    pub settings: ModuleSettings,
}

/// Every reference of the served modules, resolved.
#[derive(Debug, Default)]
pub(crate) struct Relations {
    modules: Vec<Served>,
}

/// A field of `source` that references `target`.
struct Link<'a> {
    source: &'a Served,
    field: &'static FieldMeta,
    on_delete: OnDelete,
}

impl Relations {
    /// Resolves every reference; one to a module not served, or whose id
    /// is stored differently from the field, is an error naming both.
    pub(crate) fn new(modules: Vec<Served>) -> Result<Relations, Error> {
        for source in &modules {
            for field in source.meta.fields {
                let Some(reference) = field.references else {
                    continue;
                };
                let Some(target) = modules.iter().find(|m| m.meta.module == reference.module)
                else {
                    return Err(Error::Internal(format!(
                        "`{}.{}` references `{}`, which is not served",
                        source.meta.module, field.name, reference.module
                    )));
                };
                let id = target.meta.id_field();
                if id.kind != field.kind {
                    return Err(Error::Internal(format!(
                        "`{}.{}` is stored as {:?} and the id of `{}` as {:?}",
                        source.meta.module, field.name, field.kind, reference.module, id.kind
                    )));
                }
            }
        }
        Ok(Relations { modules })
    }

    fn target(&self, module: &str) -> Option<&Served> {
        self.modules.iter().find(|m| m.meta.module == module)
    }

    /// The fields that reference `target`.
    fn links_to(&self, target: &str) -> impl Iterator<Item = Link<'_>> {
        self.modules.iter().flat_map(move |source| {
            source.meta.fields.iter().filter_map(move |field| {
                let reference = field.references.filter(|r| r.module == target)?;
                Some(Link {
                    source,
                    field,
                    on_delete: reference.on_delete,
                })
            })
        })
    }

    /// Indexes every referencing column (what deletes look rows up by).
    pub(crate) async fn create_indexes(&self, db: &Db) -> Result<(), Error> {
        for source in &self.modules {
            for field in source.meta.fields.iter().filter(|f| f.references.is_some()) {
                let index = format!("aegis_ref_{}_{}", source.meta.module, field.name);
                let sql = format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                    db.ident(&index),
                    db.ident(source.meta.module),
                    db.ident(field.name)
                );
                sqlx::query(&sql).execute(db.pool()).await?;
            }
        }
        Ok(())
    }

    /// The referencing fields of `object` (a row of `meta`) whose row does
    /// not exist, each as a field error. `known` remembers answers, for
    /// the many rows of an import.
    pub(crate) async fn missing_targets(
        &self,
        db: &Db,
        tx: &mut Tx,
        meta: &ModuleMeta,
        object: &Map<String, Value>,
        known: &mut HashMap<(&'static str, String), bool>,
    ) -> Result<Vec<FieldError>, Error> {
        let mut missing = Vec::new();
        for field in meta.fields {
            let (Some(reference), Some(value)) = (field.references, object.get(field.wire_name))
            else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let Some(target) = self.target(reference.module) else {
                continue;
            };
            let key = (target.meta.module, value.to_string());
            let found = match known.get(&key) {
                Some(found) => *found,
                None => {
                    let found = exists(db, tx, target.meta, value).await?;
                    known.insert(key, found);
                    found
                }
            };
            if !found {
                missing.push(FieldError {
                    field: field.wire_name.to_owned(),
                    message: format!(
                        "refers to {} {}, which does not exist",
                        target.meta.entity,
                        value_text(value)
                    ),
                });
            }
        }
        Ok(missing)
    }

    /// A 422 listing the references of `object` to rows that do not exist.
    pub(crate) async fn check_targets(
        &self,
        db: &Db,
        tx: &mut Tx,
        meta: &ModuleMeta,
        object: &Map<String, Value>,
    ) -> Result<(), Error> {
        let fields = self
            .missing_targets(db, tx, meta, object, &mut HashMap::new())
            .await?;
        if fields.is_empty() {
            return Ok(());
        }
        Err(Error::fields(fields))
    }

    /// What deleting the row `id` of `meta` does to the rows that
    /// reference it, inside `change`: refused while a `restrict` reference
    /// holds, else cascaded deletes and emptied fields, each with its event.
    pub(crate) async fn before_delete(
        &self,
        db: &Db,
        change: &mut Change,
        meta: &'static ModuleMeta,
        id: &Value,
        user: &str,
        origin: Option<&str>,
    ) -> Result<(), Error> {
        let mut deleting = Deleting {
            relations: self,
            db,
            user,
            origin,
            visited: HashSet::from([(meta.module, id.to_string())]),
        };
        deleting.release(change, meta, id).await
    }
}

/// One delete and the rows it reaches through references.
struct Deleting<'a> {
    relations: &'a Relations,
    db: &'a Db,
    user: &'a str,
    origin: Option<&'a str>,
    /// The rows already handled (module, id), so a cycle of cascades ends.
    visited: HashSet<(&'static str, String)>,
}

impl Deleting<'_> {
    /// Frees the row `id` of `meta` from what references it.
    fn release<'b>(
        &'b mut self,
        change: &'b mut Change,
        meta: &'static ModuleMeta,
        id: &'b Value,
    ) -> futures_util::future::BoxFuture<'b, Result<(), Error>> {
        let (db, user, origin) = (self.db, self.user, self.origin);
        Box::pin(async move {
            // Every restriction first: nothing changes when one holds.
            for link in self.relations.links_to(meta.module) {
                if link.on_delete != OnDelete::Restrict {
                    continue;
                }
                let count = count_referencing(db, change.tx(), &link, id).await?;
                if count > 0 {
                    let (rows, them) = if count == 1 {
                        ("1 row".to_owned(), "it")
                    } else {
                        (format!("{count} rows"), "them")
                    };
                    return Err(Error::InUse(format!(
                        "{} {} is referenced by {rows} of {} (`{}`); change or delete {them} \
                         first",
                        meta.entity,
                        value_text(id),
                        link.source.meta.module,
                        link.field.wire_name,
                    )));
                }
            }
            for link in self.relations.links_to(meta.module) {
                if link.on_delete == OnDelete::Restrict {
                    continue;
                }
                let rows = referencing_rows(db, change.tx(), &link, id).await?;
                let source = link.source.meta;
                let id_field = source.id_field();
                for mut row in rows {
                    let row_id = row.get(id_field.wire_name).cloned().unwrap_or(Value::Null);
                    if !self.visited.insert((source.module, row_id.to_string())) {
                        continue;
                    }
                    match link.on_delete {
                        OnDelete::Cascade => {
                            self.release(change, source, &row_id).await?;
                            delete_by_id(db, change.tx(), source, &row_id).await?;
                            if link.source.settings.with_events {
                                let data = serde_json::json!({ "id": row_id });
                                let scope = sent_data(source, Value::Object(row));
                                change
                                    .module_event(
                                        source,
                                        EventAction::Deleted,
                                        data,
                                        user,
                                        origin,
                                        Some(scope),
                                    )
                                    .await?;
                            }
                        }
                        _ => {
                            row.insert(link.field.wire_name.to_owned(), Value::Null);
                            if let Some(version) = source.version_field() {
                                let next = row.get(version.wire_name).and_then(Value::as_i64);
                                row.insert(
                                    version.wire_name.to_owned(),
                                    Value::from(next.unwrap_or(0) + 1),
                                );
                            }
                            update_object(db, change.tx(), source, &row, None).await?;
                            if link.source.settings.with_events {
                                let data = sent_data(source, Value::Object(row));
                                change
                                    .module_event(
                                        source,
                                        EventAction::Updated,
                                        data,
                                        user,
                                        origin,
                                        None,
                                    )
                                    .await?;
                            }
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

/// A value as a message shows it: text without quotes.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn exists(db: &Db, tx: &mut Tx, meta: &ModuleMeta, id: &Value) -> Result<bool, Error> {
    let id_field = meta.id_field();
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} = {}",
        db.ident(meta.module),
        db.ident(id_field.name),
        db.param(1)
    );
    let query = db.bind(sqlx::query(&sql), id_field, Some(id));
    Ok(query.fetch_optional(&mut **tx).await?.is_some())
}

async fn count_referencing(
    db: &Db,
    tx: &mut Tx,
    link: &Link<'_>,
    id: &Value,
) -> Result<i64, Error> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} = {}",
        db.ident(link.source.meta.module),
        db.ident(link.field.name),
        db.param(1)
    );
    let query = db.bind(sqlx::query(&sql), link.field, Some(id));
    let row = query.fetch_one(&mut **tx).await?;
    Ok(sqlx::Row::try_get::<i64, _>(&row, 0)?)
}

async fn referencing_rows(
    db: &Db,
    tx: &mut Tx,
    link: &Link<'_>,
    id: &Value,
) -> Result<Vec<Map<String, Value>>, Error> {
    let meta = link.source.meta;
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {} ORDER BY {}",
        db.column_list(meta),
        db.ident(meta.module),
        db.ident(link.field.name),
        db.param(1),
        db.ident(meta.id_field().name)
    );
    let query = db.bind(sqlx::query(&sql), link.field, Some(id));
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter().map(|row| db.read_row(row, meta)).collect()
}
