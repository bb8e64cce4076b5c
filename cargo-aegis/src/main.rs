//! `cargo aegis`: `new <dir>` scaffolds a runnable Aegis project, `add
//! <module> <field>:<type>...` appends a module to its modules.toml.
//! Install with `cargo install --path cargo-aegis`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aegis_build::scaffold::{NewModule, Scaffold, Source};
use clap::{Args, Parser, Subcommand};

/// Cargo runs `cargo-aegis aegis <args>` for `cargo aegis <args>`.
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cargo {
    Aegis(Aegis),
}

/// Start an Aegis project and grow it.
#[derive(Args, Debug)]
#[command(version, about)]
struct Aegis {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new project in DIR: a crate serving one sample module, its
    /// modules.toml, tests, and the Angular app around the generated features
    New {
        /// The folder to create (it must not exist, or be empty)
        dir: PathBuf,
        /// The package name [default: the folder's name]
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        source: SourceArgs,
        /// With --aegis-git: the revision to take
        #[arg(long, value_name = "REV", requires = "aegis_git")]
        aegis_rev: Option<String>,
    },
    /// Add a module to modules.toml: `cargo aegis add orders customer:string
    /// total:f64 note:string? --events --import`
    Add {
        /// The module's name, plural and snake_case (`orders`, `order_lines`)
        module: String,
        /// Its fields as `name:type` (`name:type?` for a nullable one); types:
        /// bool, i8-i64, u8-u64, f32, f64, string, datetime, date, time, uuid,
        /// json. An `id` (i64) and a `version` are added unless given
        fields: Vec<String>,
        /// Publish its changes to live clients
        #[arg(long)]
        events: bool,
        /// Give it CSV import
        #[arg(long)]
        import: bool,
        /// The modules.toml to change
        #[arg(long, default_value = "modules.toml")]
        manifest: PathBuf,
    },
}

/// Where the new project takes the Aegis crates from (default: the
/// checkout this cargo-aegis was built from).
#[derive(Args, Debug, Default)]
#[group(multiple = false)]
struct SourceArgs {
    /// A checkout of the Aegis repository
    #[arg(long, value_name = "DIR")]
    aegis_path: Option<PathBuf>,
    /// A git repository of Aegis
    #[arg(long, value_name = "URL")]
    aegis_git: Option<String>,
    /// A published version of Aegis
    #[arg(long, value_name = "VERSION")]
    aegis_version: Option<String>,
}

fn main() -> ExitCode {
    // `cargo aegis x` runs `cargo-aegis aegis x`; `cargo-aegis x` works too.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|arg| arg != "aegis") {
        args.insert(1, "aegis".into());
    }
    let Cargo::Aegis(aegis) = Cargo::parse_from(args);
    let outcome = match aegis.command {
        Command::New {
            dir,
            name,
            source,
            aegis_rev,
        } => new(&dir, name, source, aegis_rev),
        Command::Add {
            module,
            fields,
            events,
            import,
            manifest,
        } => add(
            &manifest,
            &NewModule {
                name: module,
                fields,
                with_events: events,
                with_import: import,
            },
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout this binary was built from, when it is still there.
fn own_checkout() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("aegis/Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

fn source(args: SourceArgs, rev: Option<String>) -> Result<Source, String> {
    if let Some(path) = args.aegis_path {
        let root = std::fs::canonicalize(&path)
            .map_err(|e| format!("--aegis-path {}: {e}", path.display()))?;
        if !root.join("aegis/Cargo.toml").is_file() {
            return Err(format!(
                "--aegis-path {}: not a checkout of Aegis (no aegis/Cargo.toml)",
                path.display()
            ));
        }
        return Ok(Source::Path(root));
    }
    if let Some(url) = args.aegis_git {
        return Ok(Source::Git { url, rev });
    }
    if let Some(version) = args.aegis_version {
        return Ok(Source::Version(version));
    }
    own_checkout().map(Source::Path).ok_or_else(|| {
        "say where the Aegis crates come from: --aegis-path DIR, --aegis-git URL or \
         --aegis-version VERSION"
            .to_owned()
    })
}

fn new(
    dir: &Path,
    name: Option<String>,
    args: SourceArgs,
    rev: Option<String>,
) -> Result<(), String> {
    let name = match name {
        Some(name) => name,
        None => dir
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("{} names no folder; give --name", dir.display()))?
            .to_owned(),
    };
    let files = aegis_build::scaffold::scaffold(&Scaffold {
        name: name.clone(),
        source: source(args, rev)?,
    })
    .map_err(|e| e.to_string())?;
    if dir
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(format!("{} exists and is not empty", dir.display()));
    }
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!(
        "Created {name} in {}. Run it:\n\n  cd {}\n  cargo build && npm ci --prefix web && npm run \
         build --prefix web && cargo run -- --dev\n\nthen open http://127.0.0.1:8080. Its README \
         says the rest.",
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn add(manifest: &Path, module: &NewModule) -> Result<(), String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let shown = manifest.file_name().map_or(manifest, Path::new);
    let updated =
        aegis_build::scaffold::add_module(shown, &text, module).map_err(|e| e.to_string())?;
    std::fs::write(manifest, &updated)
        .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    // The whole project as the build sees it: a clash with a module
    // declared in Rust, say. On a problem the file is put back.
    if let Err(error) = check_project(manifest) {
        std::fs::write(manifest, &text)
            .map_err(|e| format!("{error}\ncannot restore {}: {e}", manifest.display()))?;
        return Err(format!("{error}\n{} is unchanged", manifest.display()));
    }
    println!(
        "Added `{}` to {}; `cargo build` writes its front end.",
        module.name,
        manifest.display()
    );
    Ok(())
}

/// Generates (writing nothing) the project whose modules.toml is
/// `manifest`, as its build script would.
fn check_project(manifest: &Path) -> Result<(), String> {
    let dir = manifest
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let package = std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|cargo| {
            cargo
                .get("package")?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "app".to_owned());
    let out_dir = std::env::temp_dir();
    aegis_build::Config::new()
        .env(aegis_build::BuildEnv {
            manifest_dir: Some(dir),
            package: Some(package),
            out_dir: Some(out_dir),
            ..aegis_build::BuildEnv::default()
        })
        .manifest(manifest.file_name().map_or(manifest, Path::new))
        .generate()
        .map(|_| ())
        .map_err(|e| e.to_string())
}
