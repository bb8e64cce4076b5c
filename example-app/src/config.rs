//! Configuration from the environment and the command line.
//!
//! | flag | variable | default |
//! | --- | --- | --- |
//! | `--port N` | `PORT` | 8080 |
//! | `--data-dir DIR` | `AEGIS_DATA_DIR` | `./data` (the SQLite file lives there) |
//! | | `DATABASE_URL` | `sqlite://<data dir>/aegis.db?mode=rwc`; a `postgres://` URL uses PostgreSQL |
//! | | `AEGIS_JWT_SECRET` | a random secret kept in `<data dir>/jwt-secret`, made at the first start |
//! | `--dev` | `AEGIS_DEV=1` | off: dev mode hands out tokens at `/api/dev/token` |
//! | `--seed` | | off: add a little demo data to empty tables |
//! | `--web DIR` | `AEGIS_WEB_DIR` | the web app's production build (`example-app/web/dist/web/browser`), served at `/` when it exists |
//!
//! `example-app token <user> [--read a,b] [--write c]` prints a token signed
//! with the same secret (`*` for every feature).

use std::path::PathBuf;

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
}

/// Where `ng build` puts the example's web app.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist/web/browser");

impl Config {
    /// Reads flags (`args` without the program name) over the environment.
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Config, String> {
        let mut port = env("PORT");
        let mut data_dir = env("AEGIS_DATA_DIR");
        let mut dev_mode = env("AEGIS_DEV").is_some_and(|v| v == "1" || v == "true");
        let mut web_dir = env("AEGIS_WEB_DIR");
        let mut seed = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--dev" => dev_mode = true,
                "--seed" => seed = true,
                "--port" => port = Some(args.next().ok_or("--port needs a number")?),
                "--data-dir" => data_dir = Some(args.next().ok_or("--data-dir needs a folder")?),
                "--web" => web_dir = Some(args.next().ok_or("--web needs a folder")?),
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
        let jwt_secret = env("AEGIS_JWT_SECRET").filter(|secret| !secret.is_empty());
        Ok(Config {
            port,
            data_dir,
            database_url,
            jwt_secret,
            dev_mode,
            seed,
            web_dir: PathBuf::from(web_dir.unwrap_or_else(|| DEFAULT_WEB_DIR.to_owned())),
        })
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
        assert!(
            config(&[], &["--colour"])
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
