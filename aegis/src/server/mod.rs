//! What an Aegis app's `main` needs (cargo feature `server`): the shared
//! command line ([`Options`], [`Command`]), resolved with the environment
//! into a [`Config`], and a [`Server`] that serves the app's modules, its
//! own routes, the sign-in settings, dev mode's token and the built web
//! app on one origin; `migrate` and `token` alike.
//!
//! ```no_run
//! # fn api() -> aegis::Api { aegis::Api::new() }
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     aegis::server::Server::new(api())
//!         .web_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist/shop/browser"))
//!         .main("shop")
//!         .await
//! }
//! ```

mod config;
mod dev;
mod error;
mod headers;
mod telemetry;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;

pub use config::{Command, Config, ENVIRONMENT, Identity, LogFormat, Options};
pub use error::ServerError;
pub use telemetry::Telemetry;

use crate::auth::{Auth, Claims};
use crate::protocol::{OidcClient, SignIn};
use crate::{Aegis, Api, Error, Limits};

/// The command line of an app that adds nothing of its own.
#[derive(Parser, Debug)]
#[command(version, after_help = ENVIRONMENT)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// An app's modules and routes, served by the shared command line.
#[derive(Debug)]
pub struct Server {
    api: Api,
    routes: Router<Aegis>,
    web_dir: Option<PathBuf>,
    limits: Limits,
}

impl Server {
    /// Serves `api` (the app's modules, with their hooks).
    pub fn new(api: Api) -> Self {
        Server {
            api,
            routes: Router::new(),
            web_dir: None,
            limits: Limits::default(),
        }
    }

    /// Routes of the app's own, beside the modules'.
    pub fn routes(mut self, routes: Router<Aegis>) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// Where the app's built web app is when `--web` does not say.
    pub fn web_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.web_dir = Some(dir.into());
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Parses the command line, resolves it with the environment and
    /// runs it, logging (and exporting spans) as [`Telemetry::init`] does.
    pub async fn main(self, name: &str) -> ExitCode {
        let cli = Cli::parse_from(
            std::iter::once(std::ffi::OsString::from(name)).chain(std::env::args_os().skip(1)),
        );
        let outcome = match Config::from_env(cli.options) {
            Ok(config) => {
                let command = cli.command.unwrap_or(Command::Serve);
                Telemetry::around(&config, name, self.run(&config, command)).await
            }
            Err(error) => Err(error),
        };
        exit_code(outcome)
    }

    /// Runs one command.
    pub async fn run(&self, config: &Config, command: Command) -> Result<(), ServerError> {
        match command {
            Command::Serve => {
                let aegis = self.start(config).await?;
                self.serve(config, aegis).await
            }
            Command::Token { user, read, write } => {
                let read: Vec<&str> = read.iter().map(String::as_str).collect();
                let write: Vec<&str> = write.iter().map(String::as_str).collect();
                let claims = Claims::new(user, 24 * 3600, &read, &write);
                let token = Auth::new(config.secret()?.as_bytes()).issue(&claims)?;
                println!("{token}");
                Ok(())
            }
            Command::Migrate { apply } => self.migrate(config, apply).await,
        }
    }

    /// The modules, with the drops the configuration allows.
    fn api(&self, config: &Config) -> Api {
        config
            .allow_drop
            .iter()
            .fold(self.api.clone(), |api, (module, column)| {
                api.allow_drop(module, column)
            })
    }

    /// Connects; the modules' tables are not touched.
    pub async fn runtime(&self, config: &Config) -> Result<Aegis, ServerError> {
        if config.database_url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(ServerError::file("create", &config.data_dir))?;
        }
        let auth = config.auth().await?;
        crate::metrics::install();
        if let Some(loaded) = auth.preload().await {
            match loaded {
                Ok(count) => tracing::info!("{count} signing key(s) from the identity provider"),
                Err(error) => tracing::warn!("the identity provider's keys: {error}"),
            }
        }
        if config.identity.audience_any {
            tracing::warn!(
                "tokens the identity provider issued to any of its clients are accepted \
                 (--jwt-audience-any)"
            );
        }
        let db = crate::store::Db::connect(&config.database_url)
            .await
            .map_err(ServerError::Connect)?;
        let aegis = Aegis::new(db, auth, self.limits);
        if let Some(url) = &config.file_store {
            let store = crate::files::FileStore::s3(url)
                .map_err(|e| ServerError::Setting(format!("--file-store: {e}")))?;
            aegis.use_file_store(store);
            tracing::info!("files are kept in {url}");
        }
        Ok(aegis)
    }

    /// Connects and brings the modules' tables to their models (each
    /// applied statement is logged; a refused change stops the start).
    pub async fn start(&self, config: &Config) -> Result<Aegis, ServerError> {
        let aegis = self.runtime(config).await?;
        self.api(config)
            .install(&aegis)
            .await
            .map_err(ServerError::Install)?;
        Ok(aegis)
    }

    /// Every route: the modules', the app's, `GET /api/auth/config`,
    /// dev mode's `GET /api/dev/token`, and the web app at `/`. In dev
    /// mode, a request whose `Host` or `Origin` names another machine is
    /// refused (see `dev.rs`). Every answer carries the security headers
    /// (a content security policy, no framing, `nosniff`, no referrer: see
    /// `headers.rs`).
    pub fn router(&self, aegis: Aegis, config: &Config) -> Router {
        let sign_in = SignIn {
            dev_token: config.dev_mode,
            oidc: config
                .identity
                .issuer
                .clone()
                .zip(config.identity.client_id.clone())
                .map(|(issuer, client_id)| OidcClient {
                    issuer,
                    client_id,
                    scope: config.identity.scope.clone(),
                }),
        };
        let mut router = self.api.router().merge(self.routes.clone()).route(
            "/api/auth/config",
            get(move || std::future::ready(Json(sign_in.clone()))),
        );
        if config.dev_mode {
            router = router.route("/api/dev/token", get(dev::dev_token));
        }
        // Beside the API: to its token, or open in dev mode; on its own
        // listener instead when one is configured.
        if config.metrics_listen.is_none() && (config.metrics_token.is_some() || config.dev_mode) {
            let token = config.metrics_token.clone();
            router = router.route(
                "/metrics",
                get(move |state, headers| scrape(state, headers, token.clone())),
            );
        }
        let router = router.with_state(aegis);
        let router = match self.web(config) {
            Some(dir) => with_web(router, &dir),
            None => router,
        };
        let router = if config.dev_mode {
            // Its token is anyone's who asks: asked by this machine only.
            let machine = dev::ThisMachine::new(config.host);
            router.layer(axum::middleware::from_fn_with_state(
                machine,
                dev::this_machine_only,
            ))
        } else {
            router
        };
        let security = headers::SecurityHeaders::new(config.identity.issuer.as_deref());
        router.layer(axum::middleware::from_fn_with_state(security, headers::add))
    }

    /// The web build to serve, if there is one.
    fn web(&self, config: &Config) -> Option<PathBuf> {
        config
            .web_dir
            .clone()
            .or_else(|| self.web_dir.clone())
            .filter(|dir| dir.join("index.html").is_file())
    }

    /// Listens and serves until SIGINT or SIGTERM, then stops gracefully:
    /// no new connection is accepted, `/readyz` fails, WebSockets close
    /// with 1012, imports running here fail with their events, and
    /// requests in flight finish, all within [`Limits::shutdown_grace`].
    pub async fn serve(&self, config: &Config, aegis: Aegis) -> Result<(), ServerError> {
        let address = std::net::SocketAddr::from((config.host, config.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Listen {
                address,
                what: "",
                source,
            })?;
        self.announce(config);
        let address = listener.local_addr().unwrap_or(address);
        tracing::info!("serving on http://{address}");
        if let Some(metrics) = config.metrics_listen {
            serve_metrics(metrics, aegis.clone()).await?;
        } else if config.metrics_token.is_none() && !config.dev_mode {
            tracing::info!(
                "no /metrics: set AEGIS_METRICS_TOKEN, or AEGIS_METRICS_LISTEN for a listener of its own"
            );
        }
        let signalled = aegis.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            signalled.stop();
        });
        let stopping = aegis.clone();
        let server = axum::serve(crate::nodelay(listener), self.router(aegis.clone(), config))
            .with_graceful_shutdown(async move { stopping.stopping().await })
            .into_future();
        tokio::pin!(server);
        // The server ends by itself only once a stop began (its shutdown
        // signal); either may be seen first.
        let mut served = None;
        tokio::select! {
            biased;
            () = aegis.stopping() => {}
            result = &mut server => served = Some(result),
        }
        if !aegis.is_stopping() {
            return served.unwrap_or(Ok(())).map_err(ServerError::Stopped);
        }
        self.drain(&aegis, served, server).await?;
        tracing::info!("stopped");
        Ok(())
    }

    /// Says in the log what is served: dev mode, the web app or its absence.
    fn announce(&self, config: &Config) {
        if config.dev_mode {
            tracing::warn!("dev mode: /api/dev/token hands out tokens for every feature");
        }
        match self.web(config) {
            Some(dir) => tracing::info!("serving the web app from {}", dir.display()),
            None => tracing::warn!(
                "no web app at {}; build it with `npx ng build` in the app's web folder",
                config
                    .web_dir
                    .as_ref()
                    .or(self.web_dir.as_ref())
                    .map_or_else(|| "--web".to_owned(), |dir| dir.display().to_string())
            ),
        }
    }

    /// Once a stop began: lets requests in flight, closing WebSockets and
    /// stopped imports end, all within one grace period (`served`: the
    /// server's end, if it was seen first).
    async fn drain<F: Future<Output = std::io::Result<()>>>(
        &self,
        aegis: &Aegis,
        served: Option<std::io::Result<()>>,
        server: std::pin::Pin<&mut F>,
    ) -> Result<(), ServerError> {
        let grace = self.limits.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            let served = match served {
                Some(result) => result,
                None => server.await,
            };
            let tasks = aegis.stopped(grace).await;
            (served, tasks)
        })
        .await;
        match drained {
            Ok((served, finished)) => {
                served.map_err(ServerError::Stopped)?;
                if !finished {
                    tracing::warn!(
                        "WebSockets or imports still running at the end of the grace period"
                    );
                }
            }
            Err(_) => tracing::warn!(
                "requests still running {} s after the stop began; ending them",
                grace.as_secs()
            ),
        }
        Ok(())
    }

    /// Prints what the schema check would change (SQL), or with `apply`
    /// makes the changes; fails when a change is refused.
    pub async fn migrate(&self, config: &Config, apply: bool) -> Result<(), ServerError> {
        let aegis = self.runtime(config).await?;
        let api = self.api(config);
        let plan = api.plan(&aegis).await?;
        print!("{plan}");
        if plan.refusals().next().is_some() {
            return Err(ServerError::Refused);
        }
        if apply && !plan.is_empty() {
            let applied = api.install(&aegis).await?;
            println!("-- applied {} statement(s)", applied.statements().count());
        } else if !plan.is_empty() {
            println!("-- nothing changed; run `migrate --apply` (or start the server) to apply");
        }
        Ok(())
    }
}

/// `/metrics` alone on a listener of its own at `address`, open.
async fn serve_metrics(address: std::net::SocketAddr, aegis: Aegis) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Listen {
            address,
            what: " for metrics",
            source,
        })?;
    let router = Router::new()
        .route(
            "/metrics",
            get(move |state, headers| scrape(state, headers, None)),
        )
        .with_state(aegis);
    tracing::info!(
        "metrics on http://{}/metrics",
        listener.local_addr().unwrap_or(address)
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}

/// `GET /metrics`: every series in Prometheus's text format; with a
/// token, only to `Authorization: Bearer <token>`.
async fn scrape(
    State(aegis): State<Aegis>,
    headers: axum::http::HeaderMap,
    token: Option<String>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), Error> {
    if let Some(token) = token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return Err(Error::Unauthorized(
                "the metrics need `Authorization: Bearer <metrics token>`".into(),
            ));
        }
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        aegis.metrics(),
    ))
}

/// A command's outcome as the process's exit: an error is printed.
pub fn exit_code(outcome: Result<(), ServerError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the built web app from `dir` at `/`, every other unknown path
/// answered with its `index.html` (the app's own routes), so the front
/// end and the API share one origin.
pub fn with_web(router: Router, dir: &Path) -> Router {
    let index = tower_http::services::ServeFile::new(dir.join("index.html"));
    router.fallback_service(tower_http::services::ServeDir::new(dir).fallback(index))
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
