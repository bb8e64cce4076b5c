//! The command line (clap) and the configuration it resolves with the
//! environment. `example-app --help` lists it all:
//!
//! | flag | variable | default |
//! | --- | --- | --- |
//! | `--port N` | `PORT` | 8080 |
//! | `--data-dir DIR` | `AEGIS_DATA_DIR` | `./data` (the SQLite file lives there) |
//! | `--database-url URL` | `DATABASE_URL` | `sqlite://<data dir>/aegis.db?mode=rwc`; a `postgres://` URL uses PostgreSQL |
//! | | `AEGIS_JWT_SECRET` | a random secret kept in `<data dir>/jwt-secret`, made at the first start |
//! | `--dev` | `AEGIS_DEV=1` | off: dev mode hands out tokens at `/api/dev/token` |
//! | `--seed` | | off: add a little demo data to empty tables |
//! | `--web DIR` | `AEGIS_WEB_DIR` | the web app's production build (`example-app/web/dist/web/browser`), served at `/` when it exists |
//! | `--allow-drop MODULE.COLUMN` | | none: the schema check refuses to drop a column that holds data |
//!
//! Subcommands: `serve` (the default), `token <user> [--read a,b]
//! [--write c]` prints a token signed with the same secret (`*` for every
//! feature), `migrate [--apply]` prints the schema changes the modules need
//! and, with `--apply`, makes them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The Aegis example app: budgets, authors, suppliers and user roles,
/// served with their live Angular front end.
#[derive(Parser, Debug)]
#[command(version, about, after_help = ENVIRONMENT)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

const ENVIRONMENT: &str = "Environment: PORT, AEGIS_DATA_DIR, DATABASE_URL, AEGIS_DEV=1 and \
AEGIS_WEB_DIR stand for the flags (a flag wins); AEGIS_JWT_SECRET is the token secret \
(default: a random one kept in <data dir>/jwt-secret).";

/// What every subcommand shares.
#[derive(Args, Debug, Clone, Default)]
pub struct Options {
    /// The loopback port to serve on [env: PORT] [default: 8080]
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// Where the SQLite file and the token secret live [env: AEGIS_DATA_DIR] [default: data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite:...` or `postgres://...` [env: DATABASE_URL] [default: SQLite in the data dir]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Dev mode: GET /api/dev/token hands anyone a token for every feature [env: AEGIS_DEV=1]
    #[arg(long, global = true)]
    pub dev: bool,
    /// Add a little demo data to empty tables at start
    #[arg(long, global = true)]
    pub seed: bool,
    /// The built web app to serve at / [env: AEGIS_WEB_DIR] [default: the example's production build]
    #[arg(long = "web", global = true, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Let the schema check drop this column, and the data it holds, once no
    /// field is stored there (repeatable)
    #[arg(long, global = true, value_name = "MODULE.COLUMN", value_parser = module_column)]
    pub allow_drop: Vec<(String, String)>,
}

fn module_column(text: &str) -> Result<(String, String), String> {
    match text.split_once('.') {
        Some((module, column)) if !module.is_empty() && !column.is_empty() => {
            Ok((module.to_owned(), column.to_owned()))
        }
        _ => Err(format!(
            "expected MODULE.COLUMN, as in budgets.owner, found `{text}`"
        )),
    }
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the API, the WebSocket and the web app (the default)
    Serve,
    /// Print a 24-hour token signed with the server's secret
    Token {
        /// The user the token names
        user: String,
        /// Features the token may read (`*` for every feature)
        #[arg(long, value_delimiter = ',', value_name = "FEATURES")]
        read: Vec<String>,
        /// Features the token may change (`*` for every feature)
        #[arg(long, value_delimiter = ',', value_name = "FEATURES")]
        write: Vec<String>,
    },
    /// Print the schema changes the modules need, as SQL; --apply makes them
    Migrate {
        /// Apply the changes (otherwise nothing is changed)
        #[arg(long)]
        apply: bool,
    },
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// From `AEGIS_JWT_SECRET`; else [`Config::secret`] keeps one in the data dir.
    pub jwt_secret: Option<String>,
    pub dev_mode: bool,
    /// Add a little data to empty tables at start.
    pub seed: bool,
    /// The built web app to serve at `/`.
    pub web_dir: PathBuf,
    /// Columns (module, column) the schema check may drop with their data.
    pub allow_drop: Vec<(String, String)>,
}

/// Where `ng build` puts the example's web app.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist/web/browser");

impl Config {
    /// Flags over the environment (`env` reads a variable).
    pub fn resolve(
        options: Options,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let port = match (options.port, env("PORT")) {
            (Some(port), _) => port,
            (None, Some(port)) => port
                .parse()
                .map_err(|_| format!("PORT `{port}` is not a port number"))?,
            (None, None) => 8080,
        };
        let data_dir = options
            .data_dir
            .or_else(|| env("AEGIS_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = options
            .database_url
            .or_else(|| env("DATABASE_URL"))
            .unwrap_or_else(|| {
                format!("sqlite://{}?mode=rwc", data_dir.join("aegis.db").display())
            });
        let dev_mode = options.dev || env("AEGIS_DEV").is_some_and(|v| v == "1" || v == "true");
        let web_dir = options
            .web_dir
            .or_else(|| env("AEGIS_WEB_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_WEB_DIR));
        Ok(Config {
            port,
            data_dir,
            database_url,
            jwt_secret: env("AEGIS_JWT_SECRET").filter(|secret| !secret.is_empty()),
            dev_mode,
            seed: options.seed,
            web_dir,
            allow_drop: options.allow_drop,
        })
    }

    /// Parses `args` (without the program name) and resolves them over
    /// the environment.
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Config, String> {
        let cli = Cli::try_parse_from(std::iter::once("example-app".to_owned()).chain(args))
            .map_err(|e| e.to_string())?;
        Config::resolve(cli.options, env)
    }
}

impl Config {
    /// The token secret: `AEGIS_JWT_SECRET`, or the one kept in the data
    /// dir, made (random, readable by its owner only) when missing.
    pub fn secret(&self) -> Result<String, String> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("jwt-secret");
        match std::fs::read_to_string(&path) {
            Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
            Ok(_) => {
                return Err(format!(
                    "{} is empty; delete it to make a new one",
                    path.display()
                ));
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot read {}: {error}", path.display()));
            }
            Err(_) => {}
        }
        let secret = format!(
            "{}{}",
            aegis::export::uuid::Uuid::new_v4().simple(),
            aegis::export::uuid::Uuid::new_v4().simple()
        );
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        std::io::Write::write_all(&mut file, secret.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)], args: &[&str]) -> Result<Config, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env_and_args(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            args.iter().map(|a| (*a).to_owned()),
        )
    }

    #[test]
    fn defaults_to_sqlite_in_the_data_dir() {
        let config = config(&[], &["--dev"]).unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.database_url, "sqlite://data/aegis.db?mode=rwc");
        assert!(config.dev_mode);
        assert_eq!(config.jwt_secret, None);
    }

    #[test]
    fn the_secret_is_made_once_and_kept() {
        let dir = tempfile_dir();
        let config = config(&[("AEGIS_DATA_DIR", dir.to_str().unwrap())], &[]).unwrap();
        let first = config.secret().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(
            config.secret().unwrap(),
            first,
            "the same secret after a restart"
        );
        let given = super::Config {
            jwt_secret: Some("given".into()),
            ..config
        };
        assert_eq!(given.secret().unwrap(), "given");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "aegis-config-{}",
            aegis::export::uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn flags_override_the_environment() {
        let config = config(
            &[
                ("PORT", "9000"),
                ("AEGIS_JWT_SECRET", "s"),
                ("DATABASE_URL", "postgres://x/y"),
            ],
            &["--port", "9100"],
        )
        .unwrap();
        assert_eq!(config.port, 9100);
        assert_eq!(config.database_url, "postgres://x/y");
        assert!(!config.dev_mode);
    }

    #[test]
    fn refuses_unknown_arguments() {
        let error = config(&[], &["--colour"]).unwrap_err();
        assert!(error.contains("unexpected argument '--colour'"), "{error}");
    }

    #[test]
    fn subcommands_and_their_flags() {
        let cli = Cli::try_parse_from([
            "example-app",
            "token",
            "alice",
            "--read",
            "budgets,authors",
            "--write",
            "*",
        ])
        .unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Token {
                user: "alice".into(),
                read: vec!["budgets".into(), "authors".into()],
                write: vec!["*".into()],
            })
        );
        let cli = Cli::try_parse_from([
            "example-app",
            "migrate",
            "--apply",
            "--allow-drop",
            "budgets.owner",
        ])
        .unwrap();
        assert_eq!(cli.command, Some(Command::Migrate { apply: true }));
        assert_eq!(
            cli.options.allow_drop,
            vec![("budgets".to_owned(), "owner".to_owned())]
        );
        let error = Cli::try_parse_from(["example-app", "--allow-drop", "owner"]).unwrap_err();
        assert!(
            error.to_string().contains("expected MODULE.COLUMN"),
            "{error}"
        );
        let help = Cli::try_parse_from(["example-app", "--help"])
            .unwrap_err()
            .to_string();
        for word in [
            "serve",
            "token",
            "migrate",
            "--allow-drop",
            "AEGIS_JWT_SECRET",
            "DATABASE_URL",
        ] {
            assert!(help.contains(word), "--help mentions {word}:\n{help}");
        }
    }
}
