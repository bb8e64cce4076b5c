//! aegis-build: for `build.rs`. On every `cargo build` it renders the
//! Angular feature of every Aegis module — types, API service, real-time
//! state manager, list component, form and import dialogs, routes — plus
//! the back-end event tests, so the TypeScript never drifts from the Rust.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), aegis_build::Error> {
//!     aegis_build::build("../modules.toml")
//! }
//! ```
//!
//! or, to set more than the manifest:
//!
//! ```no_run
//! # fn main() -> Result<(), aegis_build::Error> {
//! aegis_build::Config::new()
//!     .manifest("../modules.toml")
//!     .source("src")
//!     .templates("aegis-templates")
//!     .run()?;
//! # Ok(())
//! # }
//! ```
//!
//! It is careful with the files it writes outside `OUT_DIR` (see
//! [`Config::run`]): bytes compared first, atomic replacement, stale files
//! deleted only when they carry the generated header, `rerun-if-changed`
//! on inputs only, nothing written under `DOCS_RS`, and `AEGIS_CHECK=1`
//! turns writing into checking.
//!
//! The app includes two files from `OUT_DIR`:
//!
//! ```ignore
//! // src/lib.rs: modules.toml's modules and every module's settings
//! pub mod aegis_modules {
//!     include!(concat!(env!("OUT_DIR"), "/aegis_modules.rs"));
//! }
//! // tests/events.rs: the generated event tests
//! include!(concat!(env!("OUT_DIR"), "/aegis_event_tests.rs"));
//! ```

mod cache;
mod collect;
mod context;
mod error;
mod layout;
mod openapi;
mod render;
mod rust_out;
pub mod scaffold;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use cache::CACHE_FILE;
pub use context::MARKER;
pub use error::{Drift, Error, Problem};
pub use render::{MANAGED_DIRS, template_names};
pub use write::{WriteReport, write_if_changed};

/// The file, in `OUT_DIR`, holding modules.toml's structs and `MODULES`.
pub const MODULES_FILE: &str = "aegis_modules.rs";
/// The file, in `OUT_DIR`, holding the generated event tests.
pub const EVENT_TESTS_FILE: &str = "aegis_event_tests.rs";
/// Where the OpenAPI document of the modules' REST API is written, under
/// the web root (`aegis_modules::api()` serves the same text at
/// `GET /api/openapi.json`).
pub const OPENAPI_PATH: &str = "shared/openapi.json";
/// The same document in `OUT_DIR`, beside `aegis_modules.rs`, which
/// includes it (`include_str!`, a path relative to that file).
pub const OPENAPI_FILE: &str = "aegis_openapi.json";

/// What to generate from, and where to.
#[derive(Clone, Debug, Default)]
pub struct Config {
    manifest: Option<PathBuf>,
    sources: Vec<PathBuf>,
    web_root: Option<PathBuf>,
    templates: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    crate_name: Option<String>,
    modules_mod: Option<String>,
    check: Option<bool>,
    env: BuildEnv,
}

/// What Cargo (and the user) tell a build script through the environment,
/// read in one place: [`BuildEnv::from_env`] is the only reader.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildEnv {
    /// `CARGO_MANIFEST_DIR`: relative paths are taken from here.
    pub manifest_dir: Option<PathBuf>,
    /// `CARGO_PKG_NAME`: the crate the event tests import entities from.
    pub package: Option<String>,
    /// `CARGO_PKG_VERSION`: the version the OpenAPI document states.
    pub version: Option<String>,
    /// `OUT_DIR`: where the Rust files go.
    pub out_dir: Option<PathBuf>,
    /// `DOCS_RS` is set: write no web files.
    pub docs_rs: bool,
    /// `AEGIS_CHECK=1` (or `true`): check instead of writing.
    pub check: bool,
}

impl BuildEnv {
    /// The variables as the process has them.
    pub fn from_env() -> Self {
        let path = |name: &str| std::env::var_os(name).map(PathBuf::from);
        BuildEnv {
            manifest_dir: path("CARGO_MANIFEST_DIR"),
            package: std::env::var("CARGO_PKG_NAME").ok(),
            version: std::env::var("CARGO_PKG_VERSION").ok(),
            out_dir: path("OUT_DIR"),
            docs_rs: std::env::var_os("DOCS_RS").is_some(),
            check: std::env::var("AEGIS_CHECK").is_ok_and(|v| v == "1" || v == "true"),
        }
    }
}

/// Everything one run produces, before anything is written.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The folder the web files belong in (the manifest's `web_root`).
    pub web_root: PathBuf,
    /// Web files by path relative to `web_root`.
    pub web: BTreeMap<PathBuf, String>,
    /// Rust files for `OUT_DIR`, by file name.
    pub rust: BTreeMap<String, String>,
    /// Every input read, for `cargo:rerun-if-changed`.
    pub inputs: Vec<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub web: WriteReport,
    /// Rust files written to `OUT_DIR` (unchanged ones are not rewritten).
    pub rust_written: Vec<PathBuf>,
    /// Nothing was rendered: the modules, settings and templates were the
    /// last run's, and every file it wrote was still as it wrote it.
    pub cached: bool,
}

/// The collected modules and where their files go, before rendering.
#[derive(Debug)]
struct Prepared {
    collected: collect::Collected,
    web_root: PathBuf,
    templates: Option<PathBuf>,
    inputs: Vec<PathBuf>,
    app: openapi::AppInfo,
    crate_ident: String,
    modules_mod: String,
}

impl Config {
    /// A configuration with every setting at its default, over the
    /// environment Cargo gives the build script ([`BuildEnv::from_env`]).
    pub fn new() -> Self {
        Config {
            env: BuildEnv::from_env(),
            ..Self::default()
        }
    }

    /// Runs over `env` instead of the process's environment.
    pub fn env(mut self, env: BuildEnv) -> Self {
        self.env = env;
        self
    }

    /// The modules.toml to read (default: `modules.toml` in the crate).
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest = Some(path.into());
        self
    }

    /// A source file or folder to scan for `#[crud_module]` structs and
    /// the types they use; may be given several times (default: `src`).
    pub fn source(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(path.into());
        self
    }

    /// Overrides the manifest's `web_root`.
    pub fn web_root(mut self, path: impl Into<PathBuf>) -> Self {
        self.web_root = Some(path.into());
        self
    }

    /// A folder of template overrides, by template name (see
    /// [`template_names`]) plus `.hbs`; overrides the manifest's `templates`.
    pub fn templates(mut self, path: impl Into<PathBuf>) -> Self {
        self.templates = Some(path.into());
        self
    }

    /// Where the Rust files go (default: `OUT_DIR`).
    pub fn out_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(path.into());
        self
    }

    /// The crate the event tests import entities from (default: the
    /// package being built).
    pub fn crate_name(mut self, name: impl Into<String>) -> Self {
        self.crate_name = Some(name.into());
        self
    }

    /// The module the app includes `aegis_modules.rs` in (default:
    /// `aegis_modules`, at the crate root).
    pub fn modules_mod(mut self, name: impl Into<String>) -> Self {
        self.modules_mod = Some(name.into());
        self
    }

    /// Check instead of writing (default: whether `AEGIS_CHECK=1`).
    pub fn check(mut self, check: bool) -> Self {
        self.check = Some(check);
        self
    }

    /// The crate's folder: relative paths are taken from here.
    fn base(&self) -> PathBuf {
        self.env
            .manifest_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base().join(path)
        }
    }

    fn manifest_path(&self) -> PathBuf {
        self.absolute(
            self.manifest
                .as_deref()
                .unwrap_or(Path::new("modules.toml")),
        )
    }

    fn source_paths(&self) -> Vec<PathBuf> {
        if self.sources.is_empty() {
            vec![self.absolute(Path::new("src"))]
        } else {
            self.sources.iter().map(|s| self.absolute(s)).collect()
        }
    }

    /// Collects and renders, writing nothing.
    pub fn generate(&self) -> Result<Generated, Error> {
        self.render(self.prepare()?)
    }

    /// Collects the modules and settles where everything goes.
    fn prepare(&self) -> Result<Prepared, Error> {
        let manifest = self.manifest_path();
        let sources = self.source_paths();
        // Messages name files relative to modules.toml's folder.
        let base = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
        let collected = collect::collect(&collect::Inputs {
            manifest: &manifest,
            sources: &sources,
            base: &base,
        })?;
        let manifest_dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
        let web_root = match &self.web_root {
            Some(path) => self.absolute(path),
            None => manifest_dir.join(collected.settings.web_root.get_ref()),
        };
        let templates = match &self.templates {
            Some(path) => Some(self.absolute(path)),
            None => collected
                .settings
                .templates
                .as_ref()
                .map(|t| manifest_dir.join(t.get_ref())),
        };
        let mut inputs = collected.inputs.clone();
        inputs.extend(sources);
        inputs.extend(templates.clone());
        inputs.sort();
        inputs.dedup();
        let package = self.crate_name.as_ref().or(self.env.package.as_ref());
        let app = openapi::AppInfo {
            name: package.map_or_else(|| "app".to_owned(), String::clone),
            version: self
                .env
                .version
                .clone()
                .unwrap_or_else(|| "0.0.0".to_owned()),
        };
        let crate_ident = package.map_or("crate", String::as_str).replace('-', "_");
        Ok(Prepared {
            collected,
            web_root,
            templates,
            inputs,
            app,
            crate_ident,
            modules_mod: self
                .modules_mod
                .clone()
                .unwrap_or_else(|| "aegis_modules".to_owned()),
        })
    }

    /// Renders every file.
    fn render(&self, prepared: Prepared) -> Result<Generated, Error> {
        let modules = &prepared.collected.modules;
        let renderer = render::Renderer::new(prepared.templates.as_deref())?;
        let mut web = renderer.web_files(modules)?;
        let openapi = openapi::document(modules, &prepared.app)?;
        let mut rust = BTreeMap::new();
        rust.insert(MODULES_FILE.to_owned(), rust_out::modules_file(modules));
        rust.insert(OPENAPI_FILE.to_owned(), openapi.clone());
        web.insert(PathBuf::from(OPENAPI_PATH), openapi);
        rust.insert(
            EVENT_TESTS_FILE.to_owned(),
            rust_out::event_tests_file(modules, &prepared.crate_ident, &prepared.modules_mod),
        );
        Ok(Generated {
            web_root: prepared.web_root,
            web,
            rust,
            inputs: prepared.inputs,
        })
    }

    /// For build.rs: prints `cargo:rerun-if-changed` for every input
    /// (never an output) and `rerun-if-env-changed` for the variables read,
    /// then does what [`Config::write`] does.
    pub fn run(&self) -> Result<Report, Error> {
        println!("cargo:rerun-if-env-changed=AEGIS_CHECK");
        println!("cargo:rerun-if-env-changed=DOCS_RS");
        // The inputs first, so a run that fails still reruns when they change.
        let mut known = vec![self.manifest_path()];
        known.extend(self.source_paths());
        for input in &known {
            println!("cargo:rerun-if-changed={}", input.display());
        }
        let prepared = self.prepare()?;
        for input in prepared.inputs.iter().filter(|i| !known.contains(i)) {
            println!("cargo:rerun-if-changed={}", input.display());
        }
        self.write_prepared(prepared)
    }

    /// Generates, writes the Rust files to `OUT_DIR`, and writes the web
    /// files — or, in check mode, fails with the list of web files that
    /// differ. Under `DOCS_RS` it writes no web files.
    ///
    /// A run whose modules, settings and templates are the last run's, by
    /// the cache it keeps in `OUT_DIR`, and whose files are all still as
    /// that run wrote them, renders nothing ([`Report::cached`]).
    pub fn write(&self) -> Result<Report, Error> {
        self.write_prepared(self.prepare()?)
    }

    fn out_dir_path(&self) -> Result<PathBuf, Error> {
        self.out_dir
            .clone()
            .or_else(|| self.env.out_dir.clone())
            .ok_or_else(|| {
                Error::Config("OUT_DIR is not set: run from build.rs, or set out_dir".into())
            })
    }

    fn write_prepared(&self, prepared: Prepared) -> Result<Report, Error> {
        let out_dir = self.out_dir_path()?;
        let key = cache::key(&prepared, self.env.docs_rs)?;
        if let Some(files) = cache::fresh(&out_dir, &prepared.web_root, key) {
            return Ok(Report {
                web: WriteReport {
                    unchanged: files,
                    ..WriteReport::default()
                },
                rust_written: Vec::new(),
                cached: true,
            });
        }
        let generated = self.render(prepared)?;
        let report = self.write_generated(&generated, &out_dir)?;
        cache::save(&out_dir, key, &generated, self.env.docs_rs);
        Ok(report)
    }

    fn write_generated(&self, generated: &Generated, out_dir: &Path) -> Result<Report, Error> {
        let mut report = Report::default();
        for (name, contents) in &generated.rust {
            let path = out_dir.join(name);
            if write::write_if_changed(&path, contents)? {
                report.rust_written.push(path);
            }
        }
        if self.env.docs_rs {
            return Ok(report);
        }
        let check = self.check.unwrap_or(self.env.check);
        if check {
            let drift = write::check_tree(&generated.web_root, MANAGED_DIRS, &generated.web)?;
            if !drift.is_empty() {
                return Err(Error::Drifted {
                    web_root: generated.web_root.clone(),
                    files: drift,
                });
            }
        } else {
            report.web = write::write_tree(&generated.web_root, MANAGED_DIRS, &generated.web)?;
        }
        Ok(report)
    }
}

/// The one-call form for build.rs: generates from `manifest` with every
/// other setting at its default. Return its result from `main`: a failure
/// then fails the build with every problem listed (`Error`'s `Debug` is
/// its message).
pub fn build(manifest: impl Into<PathBuf>) -> Result<(), Error> {
    Config::new().manifest(manifest).run().map(drop)
}
