//! The runtime's state, and the API made of every module's router.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;

use crate::auth::Auth;
use crate::entity::{CrudEntity, ModuleMeta, ModuleSettings};
use crate::error::Error;
use crate::log::{Change, EventBus};
use crate::protocol::ImportJob;
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
    /// Finished import jobs kept for `GET /import/{jobId}`.
    pub import_jobs: usize,
    /// The largest page a list serves.
    pub max_page_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            import_bytes: 64 * 1024 * 1024,
            import_batch: 500,
            import_errors: 100,
            import_jobs: 256,
            max_page_size: 200,
        }
    }
}

#[derive(Debug)]
struct Inner {
    db: Db,
    auth: Auth,
    bus: EventBus,
    limits: Limits,
    jobs: Mutex<HashMap<String, ImportJob>>,
}

/// The runtime: database, auth, event bus and import jobs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Aegis {
    inner: Arc<Inner>,
}

impl Aegis {
    pub fn new(db: Db, auth: Auth, limits: Limits) -> Self {
        Aegis {
            inner: Arc::new(Inner {
                db,
                auth,
                bus: EventBus::new(4096),
                limits,
                jobs: Mutex::new(HashMap::new()),
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

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Starts a change: a transaction whose events are published on commit.
    pub async fn change(&self) -> Result<Change, Error> {
        Change::begin(self).await
    }

    pub(crate) fn job(&self, id: &str) -> Option<ImportJob> {
        self.inner.jobs.lock().expect("jobs lock").get(id).cloned()
    }

    pub(crate) fn set_job(&self, job: ImportJob) {
        let mut jobs = self.inner.jobs.lock().expect("jobs lock");
        if jobs.len() >= self.inner.limits.import_jobs && !jobs.contains_key(&job.job_id) {
            // Forget a finished job to make room; running ones stay.
            if let Some(done) = jobs
                .iter()
                .find(|(_, j)| j.state != crate::protocol::ImportState::Running)
                .map(|(id, _)| id.clone())
            {
                jobs.remove(&done);
            }
        }
        jobs.insert(job.job_id.clone(), job);
    }
}

struct Mounted {
    meta: &'static ModuleMeta,
    settings: ModuleSettings,
    router: fn(ModuleSettings) -> Router<Aegis>,
}

/// Every module an app serves, with its settings.
#[derive(Default)]
pub struct Api {
    modules: Vec<Mounted>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.modules.iter().map(|m| &m.settings))
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
        });
        self
    }

    /// The settings of every module.
    pub fn settings(&self) -> Vec<ModuleSettings> {
        self.modules.iter().map(|m| m.settings).collect()
    }

    /// Creates every module's table, if it does not exist yet.
    pub async fn install(&self, aegis: &Aegis) -> Result<(), Error> {
        for module in &self.modules {
            aegis.db().create_table(module.meta).await?;
        }
        Ok(())
    }

    /// Every module's routes, under `/api/<feature>`.
    pub fn router(&self) -> Router<Aegis> {
        self.modules.iter().fold(Router::new(), |router, m| {
            router.merge((m.router)(m.settings))
        })
    }
}
