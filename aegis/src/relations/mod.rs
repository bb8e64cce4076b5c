//! References between modules (`#[crud(references = "authors")]`), kept
//! true by the runtime: a reference to a row that does not exist, or that
//! its user may not read, is a 422 naming the field (a row error in an
//! import); deleting a referenced row is refused with a 409, or, as the
//! reference says, deletes the referencing rows too (`cascade`) or
//! empties their field (`set_null`), in the same transaction, each as its
//! own module would ([`rows`]: its hooks, stamps and events), within the
//! user's rights on that module and [`crate::Limits::cascade_rows`]
//! ([`delete`]). An answer names another module's rows only to a user who
//! may read them all. The referencing columns are indexed.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::access::RowFilter;
use crate::auth::User;
use crate::entity::{FieldMeta, ModuleMeta, OnDelete};
use crate::error::Error;
use crate::protocol::FieldError;
use crate::store::{Db, Tx};

mod delete;
mod rows;

pub(crate) use rows::{AfterCommit, ModuleRows, Rows, Touch};

/// A served module, as references see it.
#[derive(Clone)]
pub(crate) struct Served {
    pub meta: &'static ModuleMeta,
    /// Its rows, as a delete elsewhere touches them.
    pub rows: Arc<dyn ModuleRows>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Served").field(&self.meta.module).finish()
    }
}

/// What a user may point a reference at: per referenced module, nothing
/// (they may not read it), or the rows they may read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sight(HashMap<&'static str, Option<Option<RowFilter>>>);

/// Every reference of the served modules, resolved.
#[derive(Debug, Default)]
pub(crate) struct Relations {
    modules: Vec<Served>,
}

/// A field of `source` that references `target`, or lists it
/// many-to-many (`many`: deleting a linked row removes it from the list).
pub(crate) struct Link<'a> {
    source: &'a Served,
    field: &'static FieldMeta,
    on_delete: OnDelete,
    many: bool,
}

impl Relations {
    /// Resolves every reference; one to a module not served, or whose id
    /// is stored differently from the field, is an error naming both.
    pub(crate) fn new(modules: Vec<Served>) -> Result<Relations, Error> {
        for source in &modules {
            for field in source.meta.fields {
                let (module, kind) = match (field.references, field.many) {
                    (Some(reference), _) => (reference.module, field.kind),
                    (None, Some(many)) => (many.module, many.ids),
                    (None, None) => continue,
                };
                let Some(target) = modules.iter().find(|m| m.meta.module == module) else {
                    return Err(Error::Internal(format!(
                        "`{}.{}` references `{module}`, which is not served",
                        source.meta.module, field.name
                    )));
                };
                let id = target.meta.id_field();
                if id.kind != kind {
                    return Err(Error::Internal(format!(
                        "`{}.{}` holds ids stored as {kind:?} and the id of `{module}` is {:?}",
                        source.meta.module, field.name, id.kind
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
    pub(crate) fn links_to(&self, target: &str) -> impl Iterator<Item = Link<'_>> {
        self.modules.iter().flat_map(move |source| {
            source.meta.fields.iter().filter_map(move |field| {
                if field.many.is_some_and(|m| m.module == target) {
                    return Some(Link {
                        source,
                        field,
                        on_delete: OnDelete::SetNull,
                        many: true,
                    });
                }
                let reference = field.references.filter(|r| r.module == target)?;
                Some(Link {
                    source,
                    field,
                    on_delete: reference.on_delete,
                    many: false,
                })
            })
        })
    }

    /// Indexes every referencing column (what deletes look rows up by),
    /// and makes the link tables of many-to-many fields. Serialised with
    /// other instances starting on the same database: PostgreSQL's `IF NOT
    /// EXISTS` is no guard against another transaction making the same
    /// index at the same moment.
    pub(crate) async fn create_indexes(&self, db: &Db) -> Result<(), Error> {
        for source in &self.modules {
            crate::links::create_tables(db, source.meta).await?;
            let mut tx = db.schema_tx().await?;
            for field in source.meta.fields.iter().filter(|f| f.references.is_some()) {
                let index = format!("aegis_ref_{}_{}", source.meta.module, field.name);
                let sql = format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                    db.ident(&index),
                    db.ident(source.meta.module),
                    db.ident(field.name)
                );
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// What `user` may point each reference at: the referenced modules'
    /// rights and read filters, looked at once for a request or a job.
    pub(crate) fn sight(&self, user: &User) -> Sight {
        Sight(
            self.modules
                .iter()
                .map(|target| {
                    let seen = user
                        .0
                        .can_read(target.meta.feature)
                        .then(|| target.rows.read_filter(user));
                    (target.meta.module, seen)
                })
                .collect(),
        )
    }

    /// The referencing fields of `object` (a row of `meta`) whose row does
    /// not exist, or is not one the user may read (`sight`): the same
    /// answer, so neither says which rows exist. `known` remembers
    /// answers, for the many rows of an import.
    pub(crate) async fn missing_targets(
        &self,
        db: &Db,
        tx: &mut Tx,
        meta: &ModuleMeta,
        object: &Map<String, Value>,
        sight: Option<&Sight>,
        known: &mut HashMap<(&'static str, String), bool>,
    ) -> Result<Vec<FieldError>, Error> {
        let mut missing = Vec::new();
        for field in meta.fields {
            let Some(value) = object.get(field.wire_name) else {
                continue;
            };
            let (module, ids) = match (field.references, field.many, value) {
                (Some(reference), _, value) if !value.is_null() => {
                    (reference.module, std::slice::from_ref(value))
                }
                (None, Some(many), Value::Array(ids)) if !ids.is_empty() => {
                    (many.module, ids.as_slice())
                }
                _ => continue,
            };
            let Some(target) = self.target(module) else {
                continue;
            };
            let seen = match sight {
                Some(sight) => sight.0.get(target.meta.module).cloned().flatten(),
                None => Some(None),
            };
            let Some(filter) = seen else {
                missing.push(FieldError {
                    field: field.wire_name.to_owned(),
                    message: format!("refers to {}, which you may not read", target.meta.feature),
                });
                continue;
            };
            for value in ids {
                let key = (target.meta.module, value.to_string());
                let found = match known.get(&key) {
                    Some(found) => *found,
                    None => {
                        let found = readable(db, tx, target.meta, value, filter.as_ref()).await?;
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
                    // One missing row is enough to say what is wrong.
                    break;
                }
            }
        }
        Ok(missing)
    }

    /// A 422 listing the references of `object` to rows that do not exist
    /// or that the user may not read.
    pub(crate) async fn check_targets(
        &self,
        db: &Db,
        tx: &mut Tx,
        meta: &ModuleMeta,
        object: &Map<String, Value>,
        sight: Option<&Sight>,
    ) -> Result<(), Error> {
        let fields = self
            .missing_targets(db, tx, meta, object, sight, &mut HashMap::new())
            .await?;
        if fields.is_empty() {
            return Ok(());
        }
        Err(Error::fields(fields))
    }
}

/// A value as a message shows it: text without quotes.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether `meta` has the row `id` and, with `filter`, the user may read it.
async fn readable(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    id: &Value,
    filter: Option<&RowFilter>,
) -> Result<bool, Error> {
    let id_field = meta.id_field();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {}",
        db.column_list(meta),
        db.ident(meta.module),
        db.ident(id_field.name),
        db.param(1)
    );
    let query = db.bind(sqlx::query(&sql), id_field, Some(id));
    let Some(row) = query.fetch_optional(&mut **tx).await? else {
        return Ok(false);
    };
    Ok(match filter {
        None => true,
        Some(filter) => filter.allows(&db.read_row(&row, meta)?),
    })
}
