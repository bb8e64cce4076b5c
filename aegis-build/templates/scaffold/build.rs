//! Renders the Angular feature of every module into web/src/app, and the
//! back-end event tests into OUT_DIR, on every `cargo build`.

fn main() -> Result<(), aegis_build::Error> {
    aegis_build::build("modules.toml")
}
