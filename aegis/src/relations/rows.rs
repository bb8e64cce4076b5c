//! A served module's rows as a delete elsewhere touches them: the way that
//! module's own routes would, with its hooks, its stamps and its events.
//! `Api` makes one [`ModuleRows`] per module, over its entity type and its
//! hooks, and the delete of a referenced row calls it by name.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::access::RowFilter;
use crate::auth::User;
use crate::entity::{CrudEntity, FieldMeta, ModuleSettings};
use crate::error::Error;
use crate::hooks::{CrudHooks, HookContext};
use crate::log::Change;
use crate::protocol::EventAction;
use crate::rows::{delete_row, fetch_row, from_object, to_object, update_row};
use crate::stamp::{Moment, stamp};
use crate::store::Db;

/// Who touches the rows, from where.
#[derive(Clone, Copy)]
pub(crate) struct Touch<'a> {
    pub db: &'a Db,
    pub user: &'a User,
    /// The request's client mutation id, for the events.
    pub origin: Option<&'a str>,
}

/// What to run once the change is committed: a touched row's
/// `after_commit` hook.
pub(crate) type AfterCommit = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send + Sync>;

/// A module's rows, as a delete of a row they reference touches them.
pub(crate) trait ModuleRows: Send + Sync {
    /// Deletes its row `id` in `change`: its `before_delete` hook, the
    /// row, its `deleted` event. `None` when the row is gone already.
    fn delete<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>>;

    /// Empties `field` of its row `id` in `change`, as an update: its
    /// stamps, its `before_update` hook, the version moved on, its
    /// `updated` event. `None` when the row is gone already.
    fn empty<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
        field: &'static FieldMeta,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>>;

    /// Removes `target` from the list of links `field` of its row `id`
    /// in `change`, as an update (as [`ModuleRows::empty`] does). `None`
    /// when the row is gone already.
    fn unlink<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
        field: &'static FieldMeta,
        target: &'a Value,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>>;

    /// The rows of it that `user` may read (`None`: all).
    fn read_filter(&self, user: &User) -> Option<RowFilter>;
}

/// [`ModuleRows`] of `T`, run through its hooks `H`.
pub(crate) struct Rows<T, H> {
    pub hooks: Arc<H>,
    pub settings: ModuleSettings,
    pub marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: CrudEntity, H: CrudHooks<T>> Rows<T, H> {
    /// `after_commit` of `entity`, for later.
    fn after(&self, user: &User, action: EventAction, entity: T) -> AfterCommit {
        let (hooks, user) = (self.hooks.clone(), user.id().to_owned());
        Box::new(move || Box::pin(async move { hooks.after_commit(&user, action, &entity).await }))
    }

    fn id_of(id: &Value) -> Result<T::Id, Error> {
        serde_json::from_value(id.clone()).map_err(|e| {
            Error::Internal(format!(
                "a stored {} id does not read: {e}",
                T::meta().entity
            ))
        })
    }

    async fn delete_one(
        &self,
        touch: Touch<'_>,
        change: &mut Change,
        id: &Value,
    ) -> Result<Option<AfterCommit>, Error> {
        let (db, user) = (touch.db, touch.user);
        let id = Self::id_of(id)?;
        let Some(entity) = fetch_row::<T>(db, change.tx(), &id).await? else {
            return Ok(None);
        };
        let mut context = HookContext::new(user.id(), db, change.tx());
        self.hooks.before_delete(&mut context, &entity).await?;
        delete_row::<T>(db, change.tx(), &id).await?;
        if self.settings.with_history {
            crate::history::deleted(db, change.tx(), &entity, user.id()).await?;
        }
        if self.settings.with_events {
            change
                .deleted_entity_event(&entity, user.id(), touch.origin)
                .await?;
        }
        Ok(Some(self.after(user, EventAction::Deleted, entity)))
    }

    /// Its row `id` changed by `edit` (its JSON object), as an update.
    async fn rewrite(
        &self,
        touch: Touch<'_>,
        change: &mut Change,
        id: &Value,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<Option<AfterCommit>, Error> {
        let (db, user) = (touch.db, touch.user);
        let id = Self::id_of(id)?;
        let Some(before) = fetch_row::<T>(db, change.tx(), &id).await? else {
            return Ok(None);
        };
        let mut object = to_object(&before)?;
        edit(&mut object);
        let mut after: T = from_object(object)?;
        if let Some(version) = before.version() {
            after.set_version(version + 1);
        }
        stamp(&mut after, Moment::Updated, user.id(), chrono::Utc::now())?;
        let mut context = HookContext::new(user.id(), db, change.tx());
        self.hooks
            .before_update(&mut context, &before, &mut after)
            .await?;
        if !update_row(db, change.tx(), &after, before.version()).await? {
            return Err(Error::InUse(format!(
                "a {} this delete empties was changed by someone else at the same moment; try \
                 again",
                T::meta().entity
            )));
        }
        if self.settings.with_history {
            crate::history::updated(db, change.tx(), (&before, &after), user.id(), None).await?;
        }
        if self.settings.with_events {
            change
                .entity_event(EventAction::Updated, &after, user.id(), touch.origin)
                .await?;
        }
        Ok(Some(self.after(user, EventAction::Updated, after)))
    }
}

impl<T: CrudEntity, H: CrudHooks<T>> ModuleRows for Rows<T, H> {
    fn delete<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>> {
        Box::pin(self.delete_one(touch, change, id))
    }

    fn empty<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
        field: &'static FieldMeta,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>> {
        Box::pin(self.rewrite(touch, change, id, move |object| {
            object.insert(field.wire_name.to_owned(), Value::Null);
        }))
    }

    fn unlink<'a>(
        &'a self,
        touch: Touch<'a>,
        change: &'a mut Change,
        id: &'a Value,
        field: &'static FieldMeta,
        target: &'a Value,
    ) -> BoxFuture<'a, Result<Option<AfterCommit>, Error>> {
        Box::pin(self.rewrite(touch, change, id, move |object| {
            if let Some(Value::Array(ids)) = object.get_mut(field.wire_name) {
                ids.retain(|linked| linked != target);
            }
        }))
    }

    fn read_filter(&self, user: &User) -> Option<RowFilter> {
        self.hooks.read_filter(user)
    }
}
