//! Renders the Angular feature of every module into `web/src/app`, and the
//! back-end event tests into OUT_DIR.

fn main() {
    aegis_build::build("../modules.toml");
}
