//! Per-row access (the README's "Per-row access"): which rows of a module
//! a user may read, as the app's hooks say ([`crate::hooks::CrudHooks::read_filter`]).
//! Applied to every list, read, change, export, import and bulk delete of
//! the module, and to the events each WebSocket connection receives.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::auth::User;
use crate::entity::{CrudEntity, FieldMeta, ModuleMeta};
use crate::error::Error;
use crate::events::entity_data;

/// The rows a user may read: those whose field (its JSON name, a field
/// sent to clients) holds one of the values.
#[derive(Clone, Debug, PartialEq)]
pub struct RowFilter {
    field: String,
    values: Vec<Value>,
}

impl RowFilter {
    /// Rows whose `field` equals `value`: `RowFilter::equals("owner", user.id())`.
    pub fn equals(field: impl Into<String>, value: impl Into<Value>) -> Self {
        RowFilter {
            field: field.into(),
            values: vec![value.into()],
        }
    }

    /// Rows whose `field` holds one of `values` (none: no row).
    pub fn one_of<V: Into<Value>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        RowFilter {
            field: field.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    pub fn field(&self) -> &str {
        &self.field
    }

    /// Whether a row, as clients see it, is one the user may read.
    pub fn allows(&self, row: &Map<String, Value>) -> bool {
        row.get(&self.field)
            .is_some_and(|value| !value.is_null() && self.values.contains(value))
    }

    /// The filter's field of `meta`: sent to clients (so events can be
    /// checked against it), or an error naming it.
    pub(crate) fn field_of(&self, meta: &ModuleMeta) -> Result<&'static FieldMeta, Error> {
        meta.fields
            .iter()
            .find(|f| f.wire_name == self.field && !f.hidden)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "the read filter of {} names `{}`, which is no field its clients see",
                    meta.feature, self.field
                ))
            })
    }

    pub(crate) fn values(&self) -> &[Value] {
        &self.values
    }
}

/// What a module's hooks say a user may read.
pub(crate) type ReadFilterFn = Arc<dyn Fn(&User) -> Option<RowFilter> + Send + Sync>;

/// Every served module's read filter, by feature (set by `Api::install`).
#[derive(Clone, Default)]
pub(crate) struct ReadFilters(HashMap<&'static str, ReadFilterFn>);

impl ReadFilters {
    pub(crate) fn new(filters: HashMap<&'static str, ReadFilterFn>) -> Self {
        ReadFilters(filters)
    }

    /// The rows of `feature` that `user` may read; `None`: all.
    pub(crate) fn of(&self, feature: &str, user: &User) -> Option<RowFilter> {
        self.0.get(feature).and_then(|filter| filter(user))
    }
}

impl std::fmt::Debug for ReadFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `Ok` when `filter` lets the user read `row`; else the 404 the row's
/// absence would give, so that whether it exists stays unknown.
pub(crate) fn check_readable(
    filter: Option<&RowFilter>,
    row: &Value,
    not_found: impl FnOnce() -> Error,
) -> Result<(), Error> {
    match (filter, row) {
        (None, _) => Ok(()),
        (Some(filter), Value::Object(row)) if filter.allows(row) => Ok(()),
        _ => Err(not_found()),
    }
}

/// A new row must be one its creator may read: a 403 naming the field.
pub(crate) fn check_creatable<T: CrudEntity>(
    access: Option<&RowFilter>,
    entity: &T,
) -> Result<(), Error> {
    check_stays_readable(access, entity, "create", "")
}

/// A changed row must stay one its changer may read, or a user who may
/// write the filter's field could move rows into another user's view:
/// a 403 naming the field.
pub(crate) fn check_changeable<T: CrudEntity>(
    access: Option<&RowFilter>,
    entity: &T,
) -> Result<(), Error> {
    check_stays_readable(access, entity, "change", " into ones")
}

fn check_stays_readable<T: CrudEntity>(
    access: Option<&RowFilter>,
    entity: &T,
    verb: &str,
    into: &str,
) -> Result<(), Error> {
    match access {
        Some(access) if !matches!(entity_data(entity), Value::Object(row) if access.allows(&row)) => {
            Err(Error::Forbidden(format!(
                "you may only {verb} {}{into} you can read: `{}` does not allow it",
                T::meta().feature,
                access.field()
            )))
        }
        _ => Ok(()),
    }
}
