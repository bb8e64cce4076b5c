//! The runtime's state, and the API made of every module's router.

use std::sync::Arc;

use axum::Router;

use crate::auth::Auth;
use crate::entity::{CrudEntity, ModuleMeta, ModuleSettings};
use crate::error::Error;
use crate::log::{Change, EventBus};
use crate::store::Db;

/// Limits, with defaults fit for the example app.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest CSV an import takes, in bytes.
    pub import_bytes: usize,
    /// Rows inserted per transaction during an import.
    pub import_batch: usize,
    /// Row errors an import keeps.
    pub import_errors: usize,
    /// Import jobs kept for `GET /import/{jobId}` (in the database, so every
    /// instance answers for every job); a new job makes room by forgetting
    /// the oldest finished ones.
    pub import_jobs: usize,
    /// Import jobs one user may run at once, per instance; one more is
    /// answered 429.
    pub imports_per_user: usize,
    /// The largest page a list serves.
    pub max_page_size: u32,
    /// The longest search text (`q`), in characters; a longer one is a 400.
    pub max_search_chars: usize,
    /// Events a WebSocket connection may fall behind before it is told to
    /// resync (the event bus's capacity, shared by all connections).
    pub event_backlog: usize,
    /// Events a `subscribe` with `since` replays at most; a larger gap is a resync.
    pub replay_limit: u64,
    /// The largest WebSocket frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// How long a new connection has to authenticate.
    pub auth_timeout: std::time::Duration,
    /// How often the server pings an idle connection.
    pub ping_interval: std::time::Duration,
    /// A connection silent this long is closed.
    pub idle_timeout: std::time::Duration,
    /// On PostgreSQL, how often an instance checks the event table for
    /// events it has not heard of (a notification lost with its
    /// connection); see the `relay` module.
    pub relay_sweep: std::time::Duration,
    /// Events the log keeps per feature (`None`: all). Keep it at least
    /// `replay_limit`, so that what a client may replay is still there.
    pub event_retention: Option<u64>,
    /// Events older than this are pruned from the log (`None`: kept
    /// whatever their age, within `event_retention`).
    pub event_max_age: Option<std::time::Duration>,
    /// Finished import jobs older than this are forgotten.
    pub import_job_max_age: std::time::Duration,
    /// How often the log and the import jobs are pruned.
    pub prune_interval: std::time::Duration,
    /// Rows a pruning statement deletes at most.
    pub prune_batch: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            import_bytes: 64 * 1024 * 1024,
            import_batch: 500,
            import_errors: 100,
            import_jobs: 256,
            imports_per_user: 2,
            max_page_size: 200,
            max_search_chars: 200,
            event_backlog: 4096,
            replay_limit: 10_000,
            max_frame_bytes: 64 * 1024,
            auth_timeout: std::time::Duration::from_secs(5),
            ping_interval: std::time::Duration::from_secs(20),
            idle_timeout: std::time::Duration::from_secs(60),
            relay_sweep: std::time::Duration::from_secs(2),
            event_retention: Some(100_000),
            event_max_age: None,
            import_job_max_age: std::time::Duration::from_secs(7 * 24 * 3600),
            prune_interval: std::time::Duration::from_secs(30),
            prune_batch: 1_000,
        }
    }
}

#[derive(Debug)]
struct Inner {
    db: Db,
    auth: Auth,
    bus: EventBus,
    limits: Limits,
    hub: crate::hub::HubStats,
    /// On PostgreSQL, the relay of the other instances' events, and
    /// whether it listens yet.
    relay: Option<(
        tokio_util::task::AbortOnDropHandle<()>,
        tokio::sync::watch::Receiver<bool>,
    )>,
    /// The background pruning of the event log and the import jobs.
    _retention: tokio_util::task::AbortOnDropHandle<()>,
    /// Import jobs running in this instance, per user.
    imports: std::sync::Mutex<std::collections::HashMap<String, usize>>,
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
        let bus = EventBus::new(limits.event_backlog);
        let relay = (db.dialect() == crate::store::Dialect::Postgres)
            .then(|| crate::relay::spawn(db.clone(), bus.clone(), limits.relay_sweep));
        let retention = crate::retention::spawn(db.clone(), limits);
        Aegis {
            inner: Arc::new(Inner {
                db,
                auth,
                bus,
                relay,
                _retention: retention,
                imports: std::sync::Mutex::default(),
                hub: crate::hub::HubStats::default(),
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

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Live WebSocket connections and subscriptions.
    pub fn hub(&self) -> &crate::hub::HubStats {
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

    /// Prunes the event log and the import jobs now, as the background
    /// task does every [`Limits::prune_interval`].
    pub async fn prune(&self) -> Result<crate::retention::Pruned, Error> {
        crate::retention::prune(self.db(), &self.inner.limits, chrono::Utc::now()).await
    }

    /// Starts a change: a transaction whose events are published on commit.
    pub async fn change(&self) -> Result<Change, Error> {
        Change::begin(self).await
    }

    /// A place for one more import job of `user`, within
    /// [`Limits::imports_per_user`]; the place is free again when the
    /// returned slot is dropped.
    pub(crate) fn claim_import(&self, user: &str) -> Result<ImportSlot, Error> {
        let limit = self.inner.limits.imports_per_user;
        let mut running = self
            .inner
            .imports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = running.entry(user.to_owned()).or_default();
        if *count >= limit {
            return Err(Error::TooManyRequests(format!(
                "{count} of your imports are running, the most at once; try again when one has \
                 finished"
            )));
        }
        *count += 1;
        Ok(ImportSlot {
            aegis: self.clone(),
            user: user.to_owned(),
        })
    }
}

/// One running import's place in its user's limit.
#[derive(Debug)]
pub(crate) struct ImportSlot {
    aegis: Aegis,
    user: String,
}

impl Drop for ImportSlot {
    fn drop(&mut self) {
        let mut running = self
            .aegis
            .inner
            .imports
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

async fn no_route(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no API at `{}`", uri.path()))
}

struct Mounted {
    meta: &'static ModuleMeta,
    settings: ModuleSettings,
    router: fn(ModuleSettings) -> Router<Aegis>,
    stored_default: fn(&str) -> Option<serde_json::Value>,
}

/// Every module an app serves, with its settings.
#[derive(Default)]
pub struct Api {
    modules: Vec<Mounted>,
    /// Columns the schema check may drop although they hold data.
    allow_drop: Vec<(String, String)>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field(
                "modules",
                &self.modules.iter().map(|m| &m.settings).collect::<Vec<_>>(),
            )
            .field("allow_drop", &self.allow_drop)
            .finish()
    }
}

impl Api {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `T` with `settings` (for aegis-build's `MODULES`, the merged
    /// ones).
    pub fn module<T: CrudEntity>(mut self, settings: ModuleSettings) -> Self {
        self.modules.push(Mounted {
            meta: T::meta(),
            settings,
            router: crate::crud::router::<T>,
            stored_default: T::stored_default,
        });
        self
    }

    /// Lets the schema check drop `column` of `module`'s table, and the
    /// values it holds, once no field is stored there. Without it a column
    /// that holds data and is no longer a field stops the start.
    pub fn allow_drop(mut self, module: &str, column: &str) -> Self {
        self.allow_drop.push((module.to_owned(), column.to_owned()));
        self
    }

    fn table_models(&self) -> Vec<crate::schema::TableModel> {
        self.modules
            .iter()
            .map(|m| crate::schema::TableModel {
                meta: m.meta,
                stored_default: m.stored_default,
            })
            .collect()
    }

    /// What [`Api::install`] would change in the database to bring every
    /// module's table to its model, and what it would refuse; changes
    /// nothing.
    pub async fn plan(&self, aegis: &Aegis) -> Result<crate::schema::Plan, Error> {
        crate::schema::plan(aegis.db(), &self.table_models(), &self.allow_drop).await
    }

    /// The settings of every module.
    pub fn settings(&self) -> Vec<ModuleSettings> {
        self.modules.iter().map(|m| m.settings).collect()
    }

    /// Brings every module's table to its model ([`crate::schema`]: new
    /// tables and columns, renames, nullability; each applied statement is
    /// logged), or fails with [`Error::Schema`] naming every change it
    /// will not make, having changed nothing. Then waits until the runtime
    /// hears other instances' events ([`Aegis::ready`]). Returns what it
    /// applied.
    pub async fn install(&self, aegis: &Aegis) -> Result<crate::schema::Plan, Error> {
        let applied =
            crate::schema::migrate(aegis.db(), &self.table_models(), &self.allow_drop).await?;
        aegis.ready().await?;
        Ok(applied)
    }

    /// Every module's routes, under `/api/<feature>`, and the WebSocket
    /// at `/ws` for the features with events. Every error is a JSON
    /// `ApiError`, also for paths under `/api` that are no route (404, so
    /// a web app served beside it never answers them with its page).
    pub fn router(&self) -> Router<Aegis> {
        let features: Vec<&'static str> = self
            .modules
            .iter()
            .filter(|m| m.settings.with_events)
            .map(|m| m.meta.feature)
            .collect();
        self.modules
            .iter()
            .fold(crate::hub::router(features), |router, m| {
                router.merge((m.router)(m.settings))
            })
            .route("/api", axum::routing::any(no_route))
            .route("/api/", axum::routing::any(no_route))
            .route("/api/{*rest}", axum::routing::any(no_route))
            .layer(axum::middleware::map_response(crate::error::json_errors))
    }
}
