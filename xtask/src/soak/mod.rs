//! `cargo xtask soak <name>`: long runs that check a bound holds.
//!
//! - `retention [--postgres]`: see [`retention`].
//! - `import`: see [`import`].
//! - `hostile`: see [`hostile`] (its attacks run as `soak attack`, in a
//!   process of their own: [`attack`]).

mod attack;
mod hostile;
mod import;
mod retention;

pub fn run(args: &[&str]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return crate::run_optimised("soak", args);
    }
    match args {
        ["retention"] => retention::run(false),
        ["retention", "--postgres"] => retention::run(true),
        ["import"] => crate::soak::import::run(),
        ["hostile"] => crate::soak::hostile::run(),
        ["attack", base, seconds] => crate::soak::attack::run(base, seconds),
        _ => Err("usage: cargo xtask soak retention [--postgres] | import | hostile".to_owned()),
    }
}
