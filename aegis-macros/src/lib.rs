//! `#[crud_module(...)]`, the attribute that makes a domain struct an Aegis
//! module. Use it through the `aegis` crate, which re-exports it.
//!
//! This crate is a doorway: [`aegis_model`] reads and checks the struct, and
//! [`expand`] writes the impl. Every mistake is reported at once, each at
//! the token it is about.

mod expand;
mod input;
mod meta;
mod text;

use proc_macro::TokenStream;

/// Makes a struct with named fields an Aegis CRUD module.
///
/// Flags: `with_events` (real-time events; needs a version field),
/// `with_import` (CSV import). Options: `name = "..."` (the module, plural),
/// `singular = "..."` (the entity). Fields take `#[crud(id | version | skip |
/// readonly | ts_type = "..." | label = "...")]`.
///
/// The struct is left as written. The macro adds `impl aegis::CrudEntity`
/// and the input types `<Struct>Create` and `<Struct>Update`.
#[proc_macro_attribute]
pub fn crud_module(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::crud_module(args.into(), input.into()).into()
}
