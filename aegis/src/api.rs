//! The API an app serves: every module's routes, the WebSocket, and the
//! schema check that brings their tables to their models.

use std::sync::Arc;

use axum::Router;

use crate::access::ReadFilterFn;
use crate::app::Aegis;
use crate::entity::{CrudEntity, ModuleMeta, ModuleSettings, Served};
use crate::error::Error;
use crate::hooks::{CrudHooks, NoHooks};
use crate::relations::{ModuleRows, Rows};

async fn no_route(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no API at `{}`", uri.path()))
}

/// Makes a module's routes, with the hooks it was given.
type MakeRouter = Arc<dyn Fn(ModuleSettings) -> Router<Aegis> + Send + Sync>;

#[derive(Clone)]
struct Mounted {
    meta: &'static ModuleMeta,
    settings: ModuleSettings,
    /// Its routes, its read filter and its rows as other modules' deletes
    /// touch them, all through its hooks.
    served: ServedWith,
    stored_default: fn(&str) -> Option<serde_json::Value>,
}

/// What a module is served with, made over its entity type and its hooks.
#[derive(Clone)]
struct ServedWith {
    router: MakeRouter,
    /// What its hooks say a user may read.
    read_filter: ReadFilterFn,
    rows: Arc<dyn ModuleRows>,
}

fn served_with<T: CrudEntity, H: CrudHooks<T>>(hooks: H, settings: ModuleSettings) -> ServedWith {
    let hooks = Arc::new(hooks);
    let filter = hooks.clone();
    let read_filter: ReadFilterFn = Arc::new(move |user| filter.read_filter(user));
    let rows: Arc<dyn ModuleRows> = Arc::new(Rows::<T, H> {
        hooks: hooks.clone(),
        settings,
        marker: std::marker::PhantomData,
    });
    let router: MakeRouter = Arc::new(move |settings| {
        crate::crud::router::<T, H>(settings, hooks.clone())
            .merge(crate::bulk::router::<T, H>(settings, hooks.clone()))
            .merge(crate::file_routes::router::<T, H>(hooks.clone()))
            .merge(crate::history_routes::router::<T, H>(
                settings,
                hooks.clone(),
            ))
    });
    ServedWith {
        router,
        read_filter,
        rows,
    }
}

/// Every module an app serves, with its settings. Cheap to clone: the
/// modules' hooks are shared.
#[derive(Clone, Default)]
pub struct Api {
    modules: Vec<Mounted>,
    /// Columns the schema check may drop although they hold data.
    allow_drop: Vec<(String, String)>,
    /// The modules' OpenAPI document, served at `GET /api/openapi.json`.
    openapi: Option<&'static str>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field(
                "modules",
                &self.modules.iter().map(|m| &m.settings).collect::<Vec<_>>(),
            )
            .field("allow_drop", &self.allow_drop)
            .field("openapi", &self.openapi.map(str::len))
            .finish()
    }
}

impl Api {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `document`, the modules' OpenAPI document (aegis-build
    /// writes it; `aegis_modules::api()` passes it here), at
    /// `GET /api/openapi.json`, without a token: it says no more than the
    /// web app's own code does.
    pub fn openapi(mut self, document: &'static str) -> Self {
        self.openapi = Some(document);
        self
    }

    /// Serves `T` with the settings aegis-build merged for it.
    pub fn serve<T: Served>(self) -> Self {
        self.module::<T>(T::SETTINGS)
    }

    /// Serves `T` with `settings`, for a module mounted by hand (tests,
    /// benchmarks); an app serves its modules with [`Api::serve`].
    pub fn module<T: CrudEntity>(mut self, settings: ModuleSettings) -> Self {
        self.modules.push(Mounted {
            meta: T::meta(),
            settings,
            served: served_with::<T, NoHooks>(NoHooks, settings),
            stored_default: T::stored_default,
        });
        self
    }

    /// Runs `hooks` around every change of `T` ([`crate::hooks`]).
    ///
    /// # Panics
    /// When `T` is not served yet: serve it first.
    pub fn hooks<T: CrudEntity>(mut self, hooks: impl CrudHooks<T>) -> Self {
        let module = T::meta().module;
        let mounted = self
            .modules
            .iter_mut()
            .find(|m| m.meta.module == module)
            .unwrap_or_else(|| panic!("hooks for `{module}`, which is not served; serve it first"));
        mounted.served = served_with::<T, _>(hooks, mounted.settings);
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
    /// hears other instances' events ([`Aegis::ready`]). On SQLite, import
    /// jobs the last run left running are failed, with their events.
    /// Returns what it applied.
    pub async fn install(&self, aegis: &Aegis) -> Result<crate::schema::Plan, Error> {
        let relations = crate::relations::Relations::new(
            self.modules
                .iter()
                .map(|m| crate::relations::Served {
                    meta: m.meta,
                    rows: m.served.rows.clone(),
                })
                .collect(),
        )?;
        let applied =
            crate::schema::migrate(aegis.db(), &self.table_models(), &self.allow_drop).await?;
        relations.create_indexes(aegis.db()).await?;
        aegis.set_relations(relations);
        aegis.set_read_filters(crate::access::ReadFilters::new(
            self.modules
                .iter()
                .map(|m| (m.meta.feature, m.served.read_filter.clone()))
                .collect(),
        ));
        let served: Vec<_> = self.modules.iter().map(|m| (m.meta, m.settings)).collect();
        let orphans = aegis.fail_orphaned_jobs(&served).await?;
        if orphans > 0 {
            tracing::warn!(
                orphans,
                "import jobs of the last run failed: the server restarted"
            );
        }
        aegis.ready().await?;
        aegis.lifecycle().installed();
        Ok(applied)
    }

    /// Every module's routes, under `/api/<feature>`, the WebSocket at
    /// `/ws` for the features with events, the probes `/healthz` and
    /// `/readyz` ([`crate::lifecycle`]), and the OpenAPI document when
    /// one was given ([`Api::openapi`]). Every error is a JSON
    /// `ApiError`, also for paths under `/api` that are no route (404, so
    /// a web app served beside it never answers them with its page).
    pub fn router(&self) -> Router<Aegis> {
        let features: Vec<&'static str> = self
            .modules
            .iter()
            .filter(|m| m.settings.with_events)
            .map(|m| m.meta.feature)
            .collect();
        let router = self
            .modules
            .iter()
            .fold(crate::hub::router(features), |router, m| {
                router.merge((m.served.router)(m.settings))
            })
            .merge(crate::lifecycle::router());
        let router = match self.openapi {
            Some(document) => router.route(
                "/api/openapi.json",
                axum::routing::get(move || async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }),
            ),
            None => router,
        };
        let router = router
            .route("/api", axum::routing::any(no_route))
            .route("/api/", axum::routing::any(no_route))
            .route("/api/{*rest}", axum::routing::any(no_route))
            .layer(axum::middleware::map_response(crate::error::json_errors));
        crate::trace::layer(router)
    }
}

/// `listener`, each accepted connection with `TCP_NODELAY`: a small write
/// (an event frame, a response) goes out at once, instead of waiting for
/// the client to acknowledge the previous one (up to its delayed ACK, 40 ms).
pub fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    })
}
