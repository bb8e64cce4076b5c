//! REST creates of one module, combined: creates that arrive while the
//! module's last batch is being written wait, and are then written
//! together, in one transaction — one move of the feature's counter row,
//! one multi-row insert, one multi-row write of their events — instead of
//! one transaction each queueing for that row's lock.
//!
//! Each create keeps what it would have alone: its own rules, stamps,
//! hooks, access and reference checks, its own error, its `created` event
//! (in arrival order, gap-free), and `after_commit` once it is committed.
//! A batch that one of its creates refuses (its hook, access or reference
//! check) is rolled back whole; that create is then made alone, for its
//! own answer, and the others together again. A second refusal, or a
//! failure that is no one create's, has each create made alone. So
//! nothing a refused create's hook wrote is kept, a refused create never
//! refuses the others, and it costs them one more try at most.
//! `before_create` may so run more than once for one create, each time
//! inside its transaction. A `before_create` that panics refuses its own
//! create the same way, which answers 500.
//!
//! Batches are written by tasks of their own, a few at once: a client
//! that goes away does not stop a batch other clients' creates are in,
//! nor the creates queued behind it.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;
use tokio::sync::oneshot;

use crate::Aegis;
use crate::access::{RowFilter, check_creatable};
use crate::entity::{CrudEntity, FieldKind, ModuleSettings};
use crate::error::Error;
use crate::hooks::{CrudHooks, HookContext};
use crate::protocol::EventAction;
use crate::relations::Sight;
use crate::rows::{insert_row, insert_rows, reserve, to_object};
use crate::stamp::{Moment, stamp};

/// Creates one batch writes at most.
const MOST: usize = 100;

/// Batches of one module written at once, at most. A module with integer
/// ids writes one at a time: each batch holds the feature's counter row
/// from its ids to its commit, so more would only queue for that row,
/// each holding a connection, in smaller batches (a quarter of the rate,
/// measured). Other modules take that row only for their events' seqs,
/// just before the commit: a create whose hook is slow then holds up its
/// own batch, not every create of the module.
fn writers<T: CrudEntity>() -> usize {
    if T::meta().id_field().kind == FieldKind::Integer {
        1
    } else {
        4
    }
}

/// One create, waiting for its batch.
pub(crate) struct Create<T: CrudEntity> {
    pub(crate) input: T::Create,
    pub(crate) user: String,
    pub(crate) origin: Option<String>,
    pub(crate) access: Option<RowFilter>,
    /// What the user may point the module's references at (`None`: every
    /// row, for hand-written code; and for a module that references none).
    pub(crate) sight: Option<Sight>,
}

struct Waiting<T: CrudEntity> {
    create: Create<T>,
    answer: oneshot::Sender<Result<T, Error>>,
}

struct Queue<T: CrudEntity> {
    waiting: Vec<Waiting<T>>,
    /// Tasks writing this module's creates: each takes the waiting ones
    /// when its batch is done, and ends when none wait.
    writers: usize,
}

/// The creates of one module's REST route.
pub(crate) struct Creates<T: CrudEntity, H> {
    settings: ModuleSettings,
    hooks: Arc<H>,
    queue: Mutex<Queue<T>>,
}

impl<T: CrudEntity, H: CrudHooks<T>> Creates<T, H> {
    pub(crate) fn new(settings: ModuleSettings, hooks: Arc<H>) -> Arc<Self> {
        Arc::new(Creates {
            settings,
            hooks,
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                writers: 0,
            }),
        })
    }

    pub(crate) fn hooks(&self) -> &H {
        &self.hooks
    }

    /// Creates an entity with the creates waiting beside it.
    pub(crate) async fn create(
        self: &Arc<Self>,
        aegis: &Aegis,
        create: Create<T>,
    ) -> Result<T, Error> {
        crate::rules::check::<T>(&create.input)?;
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Waiting { create, answer });
            let start = queue.writers < writers::<T>();
            queue.writers += usize::from(start);
            start
        };
        if start {
            tokio::spawn(self.clone().write(aegis.clone()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(Error::Internal("the create was interrupted".to_owned())))
    }

    /// Writes batches while creates wait.
    async fn write(self: Arc<Self>, aegis: Aegis) {
        loop {
            let batch: Vec<Waiting<T>> = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.waiting.is_empty() {
                    queue.writers -= 1;
                    return;
                }
                let take = queue.waiting.len().min(MOST);
                queue.waiting.drain(..take).collect()
            };
            let (creates, answers): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.create, w.answer)).unzip();
            // A panic no one create's hook caught (`after_commit`, say)
            // fails its batch's creates, not the module's writer.
            let written = AssertUnwindSafe(self.batch(&aegis, &creates))
                .catch_unwind()
                .await;
            let results =
                written.unwrap_or_else(|_| creates.iter().map(|_| Err(panicked::<T>())).collect());
            for (answer, result) in answers.into_iter().zip(results) {
                // The client may have gone: its create stands all the same.
                let _ = answer.send(result);
            }
        }
    }

    /// Writes `creates` together; every create's result, in order. When
    /// one create's own step refuses the batch, that create is made alone
    /// and the others together again, once; a batch that fails before its
    /// commit otherwise is made one create at a time. So a refused create
    /// costs the others one more try, not their batch.
    async fn batch(&self, aegis: &Aegis, creates: &[Create<T>]) -> Vec<Result<T, Error>> {
        let mut results: Vec<Option<Result<T, Error>>> = creates.iter().map(|_| None).collect();
        let mut left: Vec<usize> = (0..creates.len()).collect();
        let mut tries = 2;
        while left.len() > 1 && tries > 0 {
            tries -= 1;
            let batch: Vec<&Create<T>> = left.iter().map(|&n| &creates[n]).collect();
            match self.together(aegis, &batch).await {
                Ok(entities) => {
                    let after = entities.iter().zip(&batch).map(|(entity, create)| {
                        self.hooks
                            .after_commit(&create.user, EventAction::Created, entity)
                    });
                    futures_util::future::join_all(after).await;
                    crate::metrics::creates(T::meta().feature, "together", entities.len());
                    for (n, entity) in left.drain(..).zip(entities) {
                        results[n] = Some(Ok(entity));
                    }
                }
                Err(Batch::Committing(error)) => {
                    // The commit may have happened: making them again
                    // could make them twice.
                    let message = format!("the create could not be committed: {error}");
                    let mut errors = std::iter::once(error)
                        .chain(std::iter::repeat_with(|| Error::Internal(message.clone())));
                    for n in left.drain(..) {
                        results[n] = errors.next().map(Err);
                    }
                }
                Err(Batch::Refused { error, by }) => {
                    tracing::debug!(%error, size = left.len(), "a batch of creates was refused");
                    match by {
                        Some(at) => {
                            let n = left.remove(at);
                            results[n] = Some(self.alone(aegis, &creates[n]).await);
                        }
                        None => tries = 0,
                    }
                }
            }
        }
        for n in left {
            results[n] = Some(self.alone(aegis, &creates[n]).await);
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(Error::Internal("a create was not made".to_owned())))
            })
            .collect()
    }

    /// One create in a transaction of its own.
    async fn alone(&self, aegis: &Aegis, create: &Create<T>) -> Result<T, Error> {
        let made = create_entity::<T, H>(aegis, self.settings, &*self.hooks, create);
        let made = AssertUnwindSafe(made)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(panicked::<T>()));
        if made.is_ok() {
            crate::metrics::creates(T::meta().feature, "alone", 1);
        }
        made
    }

    /// One transaction for every create of the batch.
    async fn together(&self, aegis: &Aegis, creates: &[&Create<T>]) -> Result<Vec<T>, Batch> {
        let db = aegis.db();
        let mut change = aegis.change().await?;
        let (ids, seq) =
            reserve::<T>(db, change.tx(), creates.len(), self.settings.with_events).await?;
        let mut entities = Vec::with_capacity(creates.len());
        for (at, (id, create)) in ids.into_iter().zip(creates).enumerate() {
            let refused = |error: Error| Batch::Refused {
                error,
                by: Some(at),
            };
            let mut entity = T::from_create(id, create.input.clone());
            stamp(
                &mut entity,
                Moment::Created,
                &create.user,
                chrono::Utc::now(),
            )
            .map_err(refused)?;
            // A hook that panics refuses its own create, not its batch's.
            let mut ctx = HookContext::new(&create.user, db, change.tx());
            AssertUnwindSafe(self.hooks.before_create(&mut ctx, &mut entity))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(panicked::<T>()))
                .map_err(refused)?;
            check_creatable::<T>(create.access.as_ref(), &entity).map_err(refused)?;
            check_references(aegis, change.tx(), &entity, create.sight.as_ref())
                .await
                .map_err(refused)?;
            entities.push(entity);
        }
        insert_rows(db, change.tx(), &entities).await?;
        if self.settings.with_history {
            let users = creates.iter().map(|create| create.user.as_str());
            crate::history::created(db, change.tx(), entities.iter().zip(users)).await?;
        }
        if self.settings.with_events {
            let created = entities
                .iter()
                .zip(creates)
                .map(|(entity, create)| (entity, create.user.as_str(), create.origin.as_deref()));
            change.created_events(seq, created).await?;
        }
        change.commit().await.map_err(Batch::Committing)?;
        Ok(entities)
    }
}

/// Why a batch was not written.
enum Batch {
    /// Before the commit, by the create at this place in the batch if it
    /// was one create's own step: nothing of the batch was kept.
    Refused { error: Error, by: Option<usize> },
    /// At the commit.
    Committing(Error),
}

impl From<Error> for Batch {
    fn from(error: Error) -> Self {
        Batch::Refused { error, by: None }
    }
}

impl From<sqlx::Error> for Batch {
    fn from(error: sqlx::Error) -> Self {
        Error::from(error).into()
    }
}

/// One create, its rules already checked, in a transaction of its own:
/// what a batch of one is, and what each create of a failed batch is made
/// as.
pub(crate) async fn create_entity<T: CrudEntity, H: CrudHooks<T>>(
    aegis: &Aegis,
    settings: ModuleSettings,
    hooks: &H,
    create: &Create<T>,
) -> Result<T, Error> {
    let (user, origin) = (create.user.as_str(), create.origin.as_deref());
    let input = create.input.clone();
    let db = aegis.db();
    let mut change = aegis.change().await?;
    let (mut ids, seq) = reserve::<T>(db, change.tx(), 1, settings.with_events).await?;
    let id = ids
        .pop()
        .ok_or_else(|| Error::Internal("no id was allocated".to_owned()))?;
    let mut entity = T::from_create(id, input);
    stamp(&mut entity, Moment::Created, user, chrono::Utc::now())?;
    hooks
        .before_create(&mut HookContext::new(user, db, change.tx()), &mut entity)
        .await?;
    check_creatable::<T>(create.access.as_ref(), &entity)?;
    check_references(aegis, change.tx(), &entity, create.sight.as_ref()).await?;
    insert_row(db, change.tx(), &entity).await?;
    if settings.with_history {
        crate::history::created(db, change.tx(), [(&entity, user)]).await?;
    }
    if settings.with_events {
        change
            .entity_event_at(seq, EventAction::Created, &entity, user, origin)
            .await?;
    }
    change.commit().await?;
    hooks
        .after_commit(user, EventAction::Created, &entity)
        .await;
    Ok(entity)
}

/// 422 for a reference of `entity` to a row that does not exist; nothing
/// to read, or to serialise, for a module that references none.
async fn check_references<T: CrudEntity>(
    aegis: &Aegis,
    tx: &mut crate::store::Tx,
    entity: &T,
    sight: Option<&Sight>,
) -> Result<(), Error> {
    let meta = T::meta();
    if !meta.refers_to_others() {
        return Ok(());
    }
    aegis
        .relations()
        .check_targets(aegis.db(), tx, meta, &to_object(entity)?, sight)
        .await
}

/// A create whose code panicked: logged, and a 500 for its client.
fn panicked<T: CrudEntity>() -> Error {
    tracing::error!(feature = T::meta().feature, "a create panicked");
    Error::Internal("the create failed".to_owned())
}
