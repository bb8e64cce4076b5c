//! The Aegis example app: its modules cover every path the generator has.
//!
//! - `budgets`: events and CSV import (flags from modules.toml), stamped
//!   fields and hooks ([`hooks`]);
//! - `authors`: events only;
//! - `suppliers`: import without events, so its import dialog polls;
//! - `user_roles`: declared in modules.toml alone, with events.

pub mod config;
pub mod hooks;
pub mod models;
pub mod seed;

use aegis::Aegis;
use aegis::auth::Claims;
use aegis::axum::extract::State;
use aegis::axum::routing::get;
use aegis::axum::{Json, Router};
use serde::Serialize;

/// modules.toml's own modules, and every module's merged settings.
pub mod aegis_modules {
    include!(concat!(env!("OUT_DIR"), "/aegis_modules.rs"));
}

/// How long a dev-mode token lasts.
const DEV_TOKEN_SECONDS: u64 = 3600;

/// What `GET /api/dev/token` answers.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DevToken {
    pub token: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

/// Dev mode only: a token for every feature, without a login screen.
async fn dev_token(State(aegis): State<Aegis>) -> Result<Json<DevToken>, aegis::Error> {
    let claims = Claims::new("dev", DEV_TOKEN_SECONDS, &[], &["*"]);
    let token = aegis.auth().issue(&claims)?;
    Ok(Json(DevToken {
        token,
        expires_at: claims.exp,
    }))
}

/// The example app's routes. `dev_mode` adds `GET /api/dev/token`, which
/// hands anyone a token for every feature: never turn it on in production.
pub fn app(aegis: Aegis, dev_mode: bool) -> Router {
    let mut router = served().router();
    if dev_mode {
        router = router.route("/api/dev/token", get(dev_token));
    }
    router.with_state(aegis)
}

/// Serves the built web app from `dir` at `/`, every other unknown path
/// answered with its `index.html` (the app's own routes), so the front end
/// and the API share one origin.
pub fn with_web(router: Router, dir: &std::path::Path) -> Router {
    let index = tower_http::services::ServeFile::new(dir.join("index.html"));
    router.fallback_service(tower_http::services::ServeDir::new(dir).fallback(index))
}

/// Every module, with the app's hooks.
pub fn served() -> aegis::Api {
    aegis_modules::api()
        .hooks::<models::Budget>(hooks::BudgetHooks)
        .hooks::<models::Author>(hooks::AuthorHooks)
}

/// Every module, with the drops the configuration allows.
pub fn api(config: &config::Config) -> aegis::Api {
    config
        .allow_drop
        .iter()
        .fold(served(), |api, (module, column)| {
            api.allow_drop(module, column)
        })
}

/// Connects; the modules' tables are not touched.
pub async fn runtime(config: &config::Config) -> Result<Aegis, aegis::Error> {
    let secret = config.secret().map_err(aegis::Error::Internal)?;
    let db = aegis::store::Db::connect(&config.database_url).await?;
    Ok(Aegis::new(
        db,
        aegis::auth::Auth::new(secret.as_bytes()),
        aegis::Limits::default(),
    ))
}

/// Connects, brings the modules' tables to their models (each applied
/// statement is logged; a refused change stops the start), and returns
/// the runtime.
pub async fn start(config: &config::Config) -> Result<Aegis, aegis::Error> {
    let runtime = runtime(config).await?;
    api(config).install(&runtime).await?;
    Ok(runtime)
}
