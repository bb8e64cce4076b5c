//! The runtime's handle: the database, the event bus, the auth, the
//! limits and the background tasks, shared by every route.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::access::{ReadFilters, RowFilter};
use crate::auth::{Auth, HasAuth};
use crate::error::Error;
use crate::limits::Limits;
use crate::log::{Change, EventBus};
use crate::relations::Relations;
use crate::store::Db;

/// Live connections and subscriptions, for health checks and tests; the
/// hub counts them.
#[derive(Debug, Default)]
pub struct HubStats {
    pub(crate) connections: AtomicUsize,
    pub(crate) subscriptions: AtomicUsize,
    pub(crate) shards: AtomicUsize,
}

impl HubStats {
    /// The tasks writing the bus's events to the connections, each to a
    /// share of them.
    pub fn shards(&self) -> usize {
        self.shards.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn subscriptions(&self) -> usize {
        self.subscriptions.load(Ordering::SeqCst)
    }
}

/// Readiness, and what a graceful stop waits for ([`crate::lifecycle`]).
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// Cancelled when the stop begins.
    pub(crate) stopping: tokio_util::sync::CancellationToken,
    /// WebSocket connections and import jobs, which a stop lets finish.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// [`crate::Api::install`] has brought the tables to their models.
    pub(crate) installed: std::sync::atomic::AtomicBool,
}

impl Lifecycle {
    pub(crate) fn installed(&self) {
        self.installed.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct Inner {
    db: Db,
    auth: Auth,
    bus: EventBus,
    limits: Limits,
    hub: HubStats,
    /// On PostgreSQL, the relay of the other instances' events, and
    /// whether it listens yet.
    relay: Option<(
        tokio_util::task::AbortOnDropHandle<()>,
        tokio::sync::watch::Receiver<bool>,
    )>,
    /// The background pruning of the event log and the import jobs.
    _retention: tokio_util::task::AbortOnDropHandle<()>,
    /// Files, and their background collection.
    files: crate::files::Files,
    _collector: tokio_util::task::AbortOnDropHandle<()>,
    /// Places for file uploads streaming at once, and per user.
    uploads: Arc<tokio::sync::Semaphore>,
    user_uploads: Arc<UserSlots>,
    /// Import jobs running in this instance, per user.
    imports: Arc<UserSlots>,
    /// The bytes the uploads of running imports may still take.
    upload_room: Arc<tokio::sync::Semaphore>,
    /// Each user's turns at reading views.
    read_turns: ReadTurns,
    /// Places for the CSV exports streaming at once, and per user.
    exports: Arc<tokio::sync::Semaphore>,
    user_exports: Arc<UserSlots>,
    /// The references between the served modules, set by `Api::install`.
    relations: std::sync::RwLock<Arc<Relations>>,
    /// What each served module's hooks let a user read, set by `Api::install`.
    read_filters: std::sync::RwLock<ReadFilters>,
    /// Readiness, and what a graceful stop waits for.
    lifecycle: Lifecycle,
}

/// The runtime: database, auth, event bus and import jobs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Aegis {
    inner: Arc<Inner>,
}

impl Aegis {
    /// The runtime. It starts the pruning of the event log and import jobs
    /// ([`crate::retention`]) and, on PostgreSQL, the relay that brings the
    /// events of other instances sharing the database, so it must be
    /// called inside a tokio runtime.
    pub fn new(db: Db, auth: Auth, limits: Limits) -> Self {
        let db = db.limited(limits.statement_timeout);
        let bus = EventBus::new(limits.event_backlog);
        let relay = (db.dialect() == crate::store::Dialect::Postgres)
            .then(|| crate::relay::spawn(db.clone(), bus.clone(), limits.relay_sweep));
        let retention = crate::retention::spawn(db.clone(), limits);
        let files = crate::files::Files::new(db.clone());
        let collector = crate::files::collect::spawn(files.clone(), limits);
        Aegis {
            inner: Arc::new(Inner {
                db,
                auth,
                bus,
                relay,
                _retention: retention,
                files,
                _collector: collector,
                uploads: Arc::new(tokio::sync::Semaphore::new(limits.uploads)),
                user_uploads: Arc::default(),
                imports: Arc::default(),
                upload_room: Arc::new(tokio::sync::Semaphore::new(
                    limits
                        .import_bytes_in_flight
                        .min(tokio::sync::Semaphore::MAX_PERMITS),
                )),
                exports: Arc::new(tokio::sync::Semaphore::new(limits.exports)),
                user_exports: Arc::default(),
                read_turns: ReadTurns::default(),
                relations: std::sync::RwLock::default(),
                read_filters: std::sync::RwLock::default(),
                lifecycle: Lifecycle::default(),
                hub: HubStats::default(),
                limits,
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The files of this runtime.
    pub fn files(&self) -> &crate::files::Files {
        &self.inner.files
    }

    /// Keeps files' bytes in `store` from now on (the database, by
    /// default). Files stored elsewhere before are not moved.
    pub fn use_file_store(&self, store: crate::files::FileStore) {
        self.inner.files.set_store(store);
    }

    /// One collection pass as of `now`: files no row holds, uploaded
    /// longer ago than [`Limits::file_grace`], and on an object store the
    /// objects no record names ([`crate::files`]).
    pub async fn collect_files(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::files::collect::Collected, Error> {
        crate::files::collect::pass(&self.inner.files, self.inner.limits.file_grace, now, true)
            .await
    }

    /// A place for one more file upload of `user`, within
    /// [`Limits::uploads`] on this instance and [`Limits::uploads_per_user`];
    /// free again when dropped. A full instance is a 503: another may have room.
    pub(crate) fn claim_file_upload(&self, user: &str) -> Result<Places, Error> {
        let limits = &self.inner.limits;
        let (mine, all) = (limits.uploads_per_user, limits.uploads);
        self.inner.claim_places(
            (&self.inner.user_uploads, user, mine),
            &self.inner.uploads,
            || {
                Error::TooManyRequests(format!(
                    "{mine} of your uploads are running, the most at once; try again when one has \
                 finished"
                ))
            },
            || {
                Error::Unavailable(format!(
                    "{all} uploads are running, the most at once; try again in a moment"
                ))
            },
        )
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Live WebSocket connections and subscriptions.
    pub fn hub(&self) -> &HubStats {
        &self.inner.hub
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Waits until this instance hears every event committed from now on
    /// by the other instances sharing its database (at once on SQLite).
    /// [`Api::install`] waits for it.
    pub async fn ready(&self) -> Result<(), Error> {
        if let Some((_, listening)) = &self.inner.relay {
            listening
                .clone()
                .wait_for(|ready| *ready)
                .await
                .map_err(|_| Error::Internal("the event relay stopped".to_owned()))?;
        }
        Ok(())
    }

    /// On PostgreSQL, whether the relay of other instances' events
    /// listens now; `None` on SQLite.
    pub(crate) fn relay_listening(&self) -> Option<bool> {
        self.inner
            .relay
            .as_ref()
            .map(|(_, listening)| *listening.borrow())
    }

    pub(crate) fn lifecycle(&self) -> &Lifecycle {
        &self.inner.lifecycle
    }

    /// Prunes the event log and the import jobs now, as the background
    /// task does every [`Limits::prune_interval`].
    pub async fn prune(&self) -> Result<crate::retention::Pruned, Error> {
        crate::retention::prune(self.db(), &self.inner.limits, chrono::Utc::now()).await
    }

    /// The references between the served modules.
    pub(crate) fn relations(&self) -> Arc<Relations> {
        self.inner
            .relations
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// What `user` may point `T`'s references at; `None` when it has none.
    pub(crate) fn sight<T: crate::CrudEntity>(
        &self,
        user: &crate::auth::User,
    ) -> Option<crate::relations::Sight> {
        let references = T::meta().refers_to_others();
        references.then(|| self.relations().sight(user))
    }

    pub(crate) fn set_relations(&self, relations: Relations) {
        *self
            .inner
            .relations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(relations);
    }

    /// The rows of `feature` that `user` may read (`None`: all).
    pub(crate) fn read_filter(&self, feature: &str, user: &crate::auth::User) -> Option<RowFilter> {
        self.inner
            .read_filters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .of(feature, user)
    }

    pub(crate) fn set_read_filters(&self, filters: ReadFilters) {
        *self
            .inner
            .read_filters
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = filters;
    }

    /// Starts a change: a transaction whose events are published on commit.
    pub async fn change(&self) -> Result<Change, Error> {
        Change::begin(self.db(), self.bus()).await
    }

    /// A place for one more import job of `user`, within
    /// [`Limits::imports_per_user`]; the place is free again when the
    /// returned slot is dropped.
    pub(crate) fn claim_import(&self, user: &str) -> Result<UserSlot, Error> {
        let limit = self.inner.limits.imports_per_user;
        self.inner.imports.claim(user, limit).ok_or_else(|| {
            Error::TooManyRequests(format!(
                "{limit} of your imports are running, the most at once; try again when one has \
                 finished"
            ))
        })
    }

    /// Room for an upload of `announced` bytes (or, if it does not say,
    /// the largest an import takes) among the uploads of running imports,
    /// within [`Limits::import_bytes_in_flight`]; given back when dropped.
    pub(crate) fn claim_upload_room(
        &self,
        announced: Option<u64>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let limits = &self.inner.limits;
        let most = limits.import_bytes as u64;
        let bytes = announced.unwrap_or(most).min(most);
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.inner
            .upload_room
            .clone()
            .try_acquire_many_owned(bytes)
            .map_err(|_| {
                Error::Unavailable(format!(
                    "the imports running take all the {} bytes uploads may; try again when one \
                     has finished",
                    limits.import_bytes_in_flight
                ))
            })
    }

    /// A place for one more CSV export of `user`, within
    /// [`Limits::exports`] on this instance and
    /// [`Limits::exports_per_user`]; free again when dropped.
    pub(crate) fn claim_export(&self, user: &str) -> Result<Places, Error> {
        let limits = &self.inner.limits;
        let (mine, all) = (limits.exports_per_user, limits.exports);
        self.inner.claim_places(
            (&self.inner.user_exports, user, mine),
            &self.inner.exports,
            || {
                Error::TooManyRequests(format!(
                    "{mine} of your exports are running, the most at once; try again when one has \
                 finished"
                ))
            },
            || {
                Error::TooManyRequests(format!(
                    "{all} exports are running, the most at once; try again when one has finished"
                ))
            },
        )
    }
}

impl Aegis {
    /// One of `user`'s [`Limits::reads_per_user`] turns at reading a view,
    /// waited for until `deadline` (then a 503): a user's reads beyond them
    /// wait, never taking the connections every user reads on.
    pub(crate) async fn read_turn(
        &self,
        user: &str,
        deadline: tokio::time::Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let limit = self.inner.limits.reads_per_user;
        let gate = self.inner.read_turns.gate(user, limit);
        match tokio::time::timeout_at(deadline, gate.acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(Error::Unavailable(format!(
                "your other reads take your {limit} turns at reading lists; try again"
            ))),
        }
    }
}

/// Each user's turns at reading views: a semaphore per user, kept while
/// anyone holds or waits for one of its turns.
#[derive(Debug, Default)]
pub(crate) struct ReadTurns(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Weak<tokio::sync::Semaphore>>>,
);

impl ReadTurns {
    fn gate(&self, user: &str, limit: usize) -> Arc<tokio::sync::Semaphore> {
        let mut gates = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(gate) = gates.get(user).and_then(std::sync::Weak::upgrade) {
            return gate;
        }
        // Users who read no more are forgotten, a few at a time.
        if gates.len() >= 256 {
            gates.retain(|_, gate| gate.strong_count() > 0);
        }
        let gate = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
        gates.insert(user.to_owned(), Arc::downgrade(&gate));
        gate
    }
}

/// How many of something each user runs at once, on this instance.
#[derive(Debug, Default)]
pub(crate) struct UserSlots(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl UserSlots {
    /// One more place for `user`, if it has fewer than `limit`.
    fn claim(self: &Arc<Self>, user: &str, limit: usize) -> Option<UserSlot> {
        let mut running = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = running.entry(user.to_owned()).or_default();
        if *count >= limit {
            if *count == 0 {
                running.remove(user);
            }
            return None;
        }
        *count += 1;
        Some(UserSlot {
            slots: self.clone(),
            user: user.to_owned(),
        })
    }
}

/// One user's place among [`UserSlots`], given back when dropped.
#[derive(Debug)]
pub(crate) struct UserSlot {
    slots: Arc<UserSlots>,
    user: String,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut running = self
            .slots
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}

impl Inner {
    /// A place among a user's (`slots` for `user`, at most `most`) and
    /// one of the instance's (`places`), or the error of the one missing.
    fn claim_places(
        &self,
        (slots, user, most): (&Arc<UserSlots>, &str, usize),
        places: &Arc<tokio::sync::Semaphore>,
        user_full: impl FnOnce() -> Error,
        instance_full: impl FnOnce() -> Error,
    ) -> Result<Places, Error> {
        let mine = slots.claim(user, most).ok_or_else(user_full)?;
        let place = places
            .clone()
            .try_acquire_owned()
            .map_err(|_| instance_full())?;
        Ok(Places {
            _mine: mine,
            _place: place,
        })
    }
}

/// A running export's or upload's places: its user's and the instance's.
#[derive(Debug)]
pub(crate) struct Places {
    _mine: UserSlot,
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl HasAuth for Aegis {
    fn auth(&self) -> &Auth {
        &self.inner.auth
    }
}
