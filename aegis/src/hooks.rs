//! Server hooks: an app's business logic around one entity's changes,
//! registered on the [`crate::Api`] (`api().hooks::<Budget>(BudgetHooks)`)
//! without touching generated code.
//!
//! The `before_*` hooks run inside the change's transaction, after the
//! server's own checks (types, rules) and stamps: they may change the
//! entity, write through [`HookContext::tx`] (committed with the change),
//! or refuse it with [`Error::field`] (422) or [`Error::Forbidden`] (403),
//! which rolls everything back. `after_commit` runs once the change is
//! committed and its events published.
//!
//! Concurrent REST creates are written together ([`crate::creates`]), and
//! an import's rows a slice at a time: a batch that one of them refuses
//! is rolled back whole and made again without it (so nothing a refused
//! row's hook wrote is kept), and `before_create` may run more than once
//! for one create, each time inside a transaction; an effect outside it
//! belongs in `after_commit`.
//!
//! REST create, update and delete run them; so does each row of a CSV
//! import (a refusal is that row's error; a dry run checks types and rules
//! only). [`crate::crud::insert`], for hand-written code, runs none.

use std::future::Future;

use crate::access::RowFilter;
use crate::auth::User;
use crate::entity::CrudEntity;
use crate::error::Error;
use crate::protocol::EventAction;
use crate::store::{Db, Tx};

/// Where a `before_*` hook runs: who makes the change, and its transaction.
pub struct HookContext<'a> {
    user: &'a str,
    db: &'a Db,
    tx: &'a mut Tx,
}

impl<'a> HookContext<'a> {
    pub(crate) fn new(user: &'a str, db: &'a Db, tx: &'a mut Tx) -> Self {
        HookContext { user, db, tx }
    }

    /// The token's subject.
    pub fn user(&self) -> &str {
        self.user
    }

    /// The database, for its dialect and identifier quoting
    /// ([`Db::ident`]); write through [`HookContext::tx`].
    pub fn db(&self) -> &Db {
        self.db
    }

    /// The change's transaction: what a hook writes here is committed with
    /// the change, or rolled back with it.
    pub fn tx(&mut self) -> &mut Tx {
        self.tx
    }
}

impl std::fmt::Debug for HookContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookContext")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What an app runs around the changes of `T`. Every method has a default
/// that does nothing; implement the ones you need, as `async fn`.
pub trait CrudHooks<T: CrudEntity>: Send + Sync + 'static {
    /// Before a new entity is stored. It has its id and stamps.
    fn before_create(
        &self,
        ctx: &mut HookContext<'_>,
        entity: &mut T,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (ctx, entity);
        async { Ok(()) }
    }

    /// Before an update is stored: `before` as stored, `after` with the
    /// client's changes and the stamps applied.
    fn before_update(
        &self,
        ctx: &mut HookContext<'_>,
        before: &T,
        after: &mut T,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (ctx, before, after);
        async { Ok(()) }
    }

    /// Before an entity is deleted.
    fn before_delete(
        &self,
        ctx: &mut HookContext<'_>,
        entity: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (ctx, entity);
        async { Ok(()) }
    }

    /// The rows of `T` that `user` may read (`None`, the default: all):
    /// applied to lists, reads, changes, exports, imports, bulk deletes
    /// and the events each WebSocket connection receives
    /// ([`crate::access`]). A row outside it is "not found" to the user.
    fn read_filter(&self, user: &User) -> Option<RowFilter> {
        let _ = user;
        None
    }

    /// After a change by `user` is committed: `entity` as stored (as it
    /// was, for a delete).
    fn after_commit(
        &self,
        user: &str,
        action: EventAction,
        entity: &T,
    ) -> impl Future<Output = ()> + Send {
        let _ = (user, action, entity);
        async {}
    }
}

/// The hooks of an entity the app gives none.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl<T: CrudEntity> CrudHooks<T> for NoHooks {}
