//! The Aegis example app: its modules cover every path the generator has.
//!
//! - `budgets`: events and CSV import (flags from modules.toml);
//! - `authors`: events only;
//! - `suppliers`: import without events, so its import dialog polls;
//! - `user_roles`: declared in modules.toml alone, with events.

pub mod models;

/// modules.toml's own modules, and every module's merged settings.
pub mod aegis_modules {
    include!(concat!(env!("OUT_DIR"), "/aegis_modules.rs"));
}
