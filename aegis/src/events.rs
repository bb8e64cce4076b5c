//! Event envelopes (the README's "The protocol"): what every subscriber of a
//! feature receives for a committed change or an import step. The CRUD and
//! import routers build their events here; hand-written code that changes
//! entities can use the same functions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::CrudEntity;
use crate::entity::ModuleMeta;
use crate::protocol::{EventAction, EventMessage, EventMeta, FEATURE_VERSION};

/// Who and when: the parts of an event's meta not taken from the entity.
#[derive(Clone, Debug, PartialEq)]
pub struct EventContext {
    pub seq: u64,
    pub user_id: String,
    /// The client mutation id of the request that made the change.
    pub origin: Option<String>,
    pub timestamp: DateTime<Utc>,
}

impl EventContext {
    /// A context stamped now.
    pub fn new(seq: u64, user_id: impl Into<String>, origin: Option<&str>) -> Self {
        EventContext {
            seq,
            user_id: user_id.into(),
            origin: origin.map(str::to_owned),
            timestamp: Utc::now(),
        }
    }

    fn meta(&self) -> EventMeta {
        EventMeta {
            timestamp: self.timestamp,
            feature_version: FEATURE_VERSION.to_owned(),
            seq: self.seq,
            user_id: self.user_id.clone(),
            origin: self.origin.clone(),
        }
    }
}

/// The entity as the front end sees it: serialised, fields marked
/// `#[crud(skip)]` removed.
pub fn entity_data<T: CrudEntity>(entity: &T) -> serde_json::Value {
    let value = serde_json::to_value(entity).unwrap_or(serde_json::Value::Null);
    sent_data(T::meta(), value)
}

/// A row of `meta` (as JSON) as the front end sees it: fields marked
/// `#[crud(skip)]` removed.
pub fn sent_data(meta: &ModuleMeta, mut value: serde_json::Value) -> serde_json::Value {
    if let serde_json::Value::Object(map) = &mut value {
        for field in meta.fields.iter().filter(|f| f.hidden) {
            map.remove(field.wire_name);
        }
    }
    value
}

fn envelope<T: CrudEntity>(
    action: EventAction,
    data: serde_json::Value,
    context: &EventContext,
) -> EventMessage {
    module_event(T::meta(), action, data, context)
}

/// An event of the module `meta` describes, carrying `data` as it is (for
/// rows changed without their Rust type at hand: a cascade, say).
pub fn module_event(
    meta: &ModuleMeta,
    action: EventAction,
    data: serde_json::Value,
    context: &EventContext,
) -> EventMessage {
    EventMessage {
        feature: meta.feature.to_owned(),
        entity: meta.entity.to_owned(),
        action,
        data,
        meta: context.meta(),
    }
}

/// A `created` or `updated` event carrying the entity.
pub fn entity_event<T: CrudEntity>(
    action: EventAction,
    entity: &T,
    context: &EventContext,
) -> EventMessage {
    envelope::<T>(action, entity_data(entity), context)
}

/// A `deleted` event carrying `{ id }`.
pub fn deleted_event<T: CrudEntity>(id: &T::Id, context: &EventContext) -> EventMessage {
    let id = serde_json::to_value(id).unwrap_or(serde_json::Value::Null);
    envelope::<T>(
        EventAction::Deleted,
        serde_json::json!({ "id": id }),
        context,
    )
}

/// An `import_*` event carrying its payload.
pub fn import_event<T: CrudEntity>(
    action: EventAction,
    payload: &impl Serialize,
    context: &EventContext,
) -> EventMessage {
    let data = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
    envelope::<T>(action, data, context)
}
