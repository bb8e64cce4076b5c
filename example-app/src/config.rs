//! Configuration from the environment and the command line.
//!
//! | flag | variable | default |
//! | --- | --- | --- |
//! | `--port N` | `PORT` | 8080 |
//! | `--data-dir DIR` | `AEGIS_DATA_DIR` | `./data` (the SQLite file lives there) |
//! | | `DATABASE_URL` | `sqlite://<data dir>/aegis.db?mode=rwc`; a `postgres://` URL uses PostgreSQL |
//! | | `AEGIS_JWT_SECRET` | required, except in dev mode |
//! | `--dev` | `AEGIS_DEV=1` | off: dev mode hands out tokens at `/api/dev/token` |

use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub jwt_secret: String,
    pub dev_mode: bool,
}

impl Config {
    /// Reads flags (`args` without the program name) over the environment.
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Config, String> {
        let mut port = env("PORT");
        let mut data_dir = env("AEGIS_DATA_DIR");
        let mut dev_mode = env("AEGIS_DEV").is_some_and(|v| v == "1" || v == "true");
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--dev" => dev_mode = true,
                "--port" => port = Some(args.next().ok_or("--port needs a number")?),
                "--data-dir" => data_dir = Some(args.next().ok_or("--data-dir needs a folder")?),
                other => return Err(format!("unknown argument `{other}`; see the README")),
            }
        }
        let port = match port {
            Some(port) => port
                .parse()
                .map_err(|_| format!("`{port}` is not a port number"))?,
            None => 8080,
        };
        let data_dir = PathBuf::from(data_dir.unwrap_or_else(|| "data".to_owned()));
        let database_url = env("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("aegis.db").display())
        });
        let jwt_secret = match env("AEGIS_JWT_SECRET") {
            Some(secret) if !secret.is_empty() => secret,
            _ if dev_mode => uuid_like_secret(),
            _ => {
                return Err(
                    "set AEGIS_JWT_SECRET (the HS256 secret of the tokens), or run with --dev"
                        .to_owned(),
                );
            }
        };
        Ok(Config {
            port,
            data_dir,
            database_url,
            jwt_secret,
            dev_mode,
        })
    }
}

/// A random secret for dev mode, new at every start.
fn uuid_like_secret() -> String {
    format!(
        "{}{}",
        aegis::export::uuid::Uuid::new_v4().simple(),
        aegis::export::uuid::Uuid::new_v4().simple()
    )
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
        assert_eq!(config.jwt_secret.len(), 64);
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
    fn refuses_to_start_without_a_secret_outside_dev_mode() {
        assert!(config(&[], &[]).unwrap_err().contains("AEGIS_JWT_SECRET"));
        assert!(
            config(&[], &["--colour"])
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
