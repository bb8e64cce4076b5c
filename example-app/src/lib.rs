//! The Aegis example app: its modules cover every path the generator has.
//!
//! - `budgets`: events and CSV import (flags from modules.toml), stamped
//!   fields and hooks ([`hooks`]), a reference to `departments` (whose
//!   edit dialog shows its budgets) and many-to-many `tags`;
//! - `tags`: the rows budgets link;
//! - `authors`: events only;
//! - `suppliers`: import without events, so its import dialog polls;
//! - `user_roles`: declared in modules.toml alone, with events.

pub mod config;
pub mod hooks;
pub mod models;
pub mod seed;

/// modules.toml's own modules, and every module's merged settings.
pub mod aegis_modules {
    include!(concat!(env!("OUT_DIR"), "/aegis_modules.rs"));
}

/// The example served by the shared command line: its modules with their
/// hooks, and its web build.
pub fn server() -> aegis::server::Server {
    aegis::server::Server::new(served()).web_dir(config::DEFAULT_WEB_DIR)
}

/// Every module, with the app's hooks.
pub fn served() -> aegis::Api {
    aegis_modules::api()
        .hooks::<models::Budget>(hooks::BudgetHooks)
        .hooks::<models::Author>(hooks::AuthorHooks)
}
