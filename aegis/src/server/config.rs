//! The command line every Aegis app shares (clap) and the configuration
//! it resolves with the environment; a flag wins over its variable.
//!
//! | flag | variable | default |
//! | --- | --- | --- |
//! | `--host ADDR` | `HOST` | `127.0.0.1` (`0.0.0.0` to serve other machines) |
//! | `--port N` | `PORT` | 8080 |
//! | `--data-dir DIR` | `AEGIS_DATA_DIR` | `./data` (the SQLite file and the token secret live there) |
//! | `--database-url URL` | `DATABASE_URL` | `sqlite://<data dir>/aegis.db?mode=rwc`; a `postgres://` URL uses PostgreSQL |
//! | | `AEGIS_JWT_SECRET` | a random secret kept in `<data dir>/jwt-secret`, made at the first start |
//! | `--dev` | `AEGIS_DEV=1` | off: dev mode hands out tokens at `/api/dev/token` |
//! | `--web DIR` | `AEGIS_WEB_DIR` | the app's web build, served at `/` when it exists |
//! | `--allow-drop MODULE.COLUMN` | | none: the schema check refuses to drop a column that holds data |
//! | `--oidc-issuer URL` | `AEGIS_OIDC_ISSUER` | none: the identity provider whose tokens are accepted (its keys found by discovery) |
//! | `--oidc-client-id ID` | `AEGIS_OIDC_CLIENT_ID` | none: the web app signs in with this public client |
//! | `--oidc-scope SCOPES` | `AEGIS_OIDC_SCOPE` | `openid profile` |
//! | `--jwks-url URL` | `AEGIS_JWKS_URL` | the issuer's `jwks_uri` |
//! | `--jwt-public-key FILE` | `AEGIS_JWT_PUBLIC_KEYS` (comma-separated) | none: PEM public keys |
//! | `--jwt-audience AUD` | `AEGIS_JWT_AUDIENCE` (comma-separated) | none; with an identity provider, one of it or `--jwt-audience-any` is needed |
//! | `--jwt-audience-any` | `AEGIS_JWT_AUDIENCE_ANY=1` | off: a provider's tokens for any of its clients are accepted only when this says so |
//! | `--jwt-user-claim CLAIM` | `AEGIS_JWT_USER_CLAIM` | `sub` |
//! | `--grant GRANT` | `AEGIS_JWT_GRANTS` (`;`-separated) | none: see [`crate::auth::Grant`] |
//! | `--log-format FORMAT` | `AEGIS_LOG_FORMAT` | `text`; `json`: one object a line |
//! | `--metrics-listen ADDR:PORT` | `AEGIS_METRICS_LISTEN` | none: `/metrics` alone on that address, open |
//! | `--metrics-token TOKEN` | `AEGIS_METRICS_TOKEN` | none: `/metrics` beside the API to this bearer token (open in dev mode) |
//! | `--otlp-endpoint URL` | `OTEL_EXPORTER_OTLP_ENDPOINT` | none: spans exported over OTLP/HTTP to this collector (cargo feature `otel`) |
//! | | `OTEL_SERVICE_NAME` | the app's name: the spans' `service.name` |

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ServerError;
use crate::auth::{Auth, Grant};

/// Every flag an Aegis app's command line has; flatten it into the app's
/// own clap parser (`#[command(flatten)]`).
#[derive(Args, Debug, Clone, Default)]
pub struct Options {
    /// The address to listen on [env: HOST] [default: 127.0.0.1]
    #[arg(long, global = true, value_name = "ADDR")]
    pub host: Option<std::net::IpAddr>,
    /// The port to serve on [env: PORT] [default: 8080]
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
    /// The built web app to serve at / [env: AEGIS_WEB_DIR] [default: the app's production build]
    #[arg(long = "web", global = true, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Let the schema check drop this column, and the data it holds, once no
    /// field is stored there (repeatable)
    #[arg(long, global = true, value_name = "MODULE.COLUMN", value_parser = module_column)]
    pub allow_drop: Vec<(String, String)>,
    /// The identity provider (OpenID Connect issuer) whose tokens are accepted
    /// [env: AEGIS_OIDC_ISSUER]
    #[arg(long, global = true, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// The public client the web app signs in with at the issuer [env: AEGIS_OIDC_CLIENT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub oidc_client_id: Option<String>,
    /// The scopes the web app asks for [env: AEGIS_OIDC_SCOPE] [default: openid profile]
    #[arg(long, global = true, value_name = "SCOPES")]
    pub oidc_scope: Option<String>,
    /// The keys that sign tokens, as a JWKS URL [env: AEGIS_JWKS_URL] [default: the issuer's]
    #[arg(long, global = true, value_name = "URL")]
    pub jwks_url: Option<String>,
    /// A PEM public key that signs tokens (repeatable) [env: AEGIS_JWT_PUBLIC_KEYS, comma-separated]
    #[arg(long = "jwt-public-key", global = true, value_name = "FILE")]
    pub jwt_public_keys: Vec<PathBuf>,
    /// Accept only tokens for this audience (repeatable) [env: AEGIS_JWT_AUDIENCE, comma-separated]
    #[arg(long = "jwt-audience", global = true, value_name = "AUD")]
    pub jwt_audience: Vec<String>,
    /// Accept the identity provider's tokens whatever client they were issued
    /// to (without it, a provider needs --jwt-audience) [env: AEGIS_JWT_AUDIENCE_ANY=1]
    #[arg(long, global = true)]
    pub jwt_audience_any: bool,
    /// The claim naming the user [env: AEGIS_JWT_USER_CLAIM] [default: sub]
    #[arg(long, global = true, value_name = "CLAIM")]
    pub jwt_user_claim: Option<String>,
    /// Serve /metrics on this address alone, open (for a scraper inside the
    /// cluster) [env: AEGIS_METRICS_LISTEN]
    #[arg(long, global = true, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Serve /metrics beside the API to `Authorization: Bearer <TOKEN>`
    /// [env: AEGIS_METRICS_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN")]
    pub metrics_token: Option<String>,
    /// How the log is written: `text`, or `json` (one object a line, with the
    /// request's span) [env: AEGIS_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Export the spans to this OpenTelemetry collector over OTLP/HTTP, as
    /// `http://localhost:4318` (cargo feature `otel`) [env: OTEL_EXPORTER_OTLP_ENDPOINT]
    #[arg(long, global = true, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Where uploaded files' bytes are kept: `database` (in it, shared by
    /// every instance), or an S3-compatible store as `s3://bucket/prefix`,
    /// configured by the usual AWS variables (`AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`...) [env: AEGIS_FILE_STORE]
    /// [default: database]
    #[arg(long, global = true, value_name = "URL")]
    pub file_store: Option<String>,
    /// Give features to tokens holding a claim value, as `roles:admin=write:*` (repeatable)
    /// [env: AEGIS_JWT_GRANTS, `;`-separated]
    #[arg(long = "grant", global = true, value_name = "GRANT")]
    pub grants: Vec<Grant>,
}

/// How the log is written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line an event.
    #[default]
    Text,
    /// For collectors: one JSON object a line, with the current span's fields.
    Json,
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

/// What an Aegis app's command line can ask for.
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

/// The help's note on the environment, for an app's `after_help`.
pub const ENVIRONMENT: &str = "Environment: HOST, PORT, AEGIS_DATA_DIR, DATABASE_URL, AEGIS_DEV=1, \
AEGIS_WEB_DIR, AEGIS_LOG_FORMAT, AEGIS_METRICS_*, OTEL_EXPORTER_OTLP_ENDPOINT and the AEGIS_OIDC_* and AEGIS_JWT* variables stand for the flags (a flag wins); \
OTEL_SERVICE_NAME names the exported spans' service; \
AEGIS_JWT_SECRET is the secret of the server's own tokens (default: a random one kept in \
<data dir>/jwt-secret).";

/// Who signs users in: the identity provider's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The OpenID Connect issuer; tokens must name it in `iss`.
    pub issuer: Option<String>,
    /// The public client of the web app's sign-in.
    pub client_id: Option<String>,
    pub scope: String,
    pub jwks_url: Option<String>,
    pub public_keys: Vec<PathBuf>,
    pub audience: Vec<String>,
    /// Tokens for any audience are accepted, said on purpose.
    pub audience_any: bool,
    pub user_claim: Option<String>,
    pub grants: Vec<Grant>,
}

impl Identity {
    /// The identity settings of `options` over the environment's.
    fn resolve(
        options: &Options,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Identity, ServerError> {
        let grants = if options.grants.is_empty() {
            list(env("AEGIS_JWT_GRANTS"), ';')
                .iter()
                .map(|grant| {
                    grant
                        .parse()
                        .map_err(|e| ServerError::Setting(format!("AEGIS_JWT_GRANTS: {e}")))
                })
                .collect::<Result<_, _>>()?
        } else {
            options.grants.clone()
        };
        let or_list = |given: &[String], name: &str| {
            if given.is_empty() {
                list(env(name), ',')
            } else {
                given.to_vec()
            }
        };
        let public_keys = if options.jwt_public_keys.is_empty() {
            list(env("AEGIS_JWT_PUBLIC_KEYS"), ',')
                .into_iter()
                .map(PathBuf::from)
                .collect()
        } else {
            options.jwt_public_keys.clone()
        };
        let flag = |given: &Option<String>, name: &str| given.clone().or_else(|| env(name));
        let identity = Identity {
            issuer: flag(&options.oidc_issuer, "AEGIS_OIDC_ISSUER"),
            client_id: flag(&options.oidc_client_id, "AEGIS_OIDC_CLIENT_ID"),
            scope: flag(&options.oidc_scope, "AEGIS_OIDC_SCOPE")
                .unwrap_or_else(|| "openid profile".to_owned()),
            jwks_url: flag(&options.jwks_url, "AEGIS_JWKS_URL"),
            public_keys,
            audience: or_list(&options.jwt_audience, "AEGIS_JWT_AUDIENCE"),
            audience_any: options.jwt_audience_any || is_on(env("AEGIS_JWT_AUDIENCE_ANY")),
            user_claim: flag(&options.jwt_user_claim, "AEGIS_JWT_USER_CLAIM"),
            grants,
        };
        if identity.client_id.is_some() && identity.issuer.is_none() {
            return Err(ServerError::Setting(
                "an OIDC client id needs its issuer (--oidc-issuer)".to_owned(),
            ));
        }
        identity.check_audience()?;
        Ok(identity)
    }

    /// Whether tokens of an identity provider are accepted.
    pub fn configured(&self) -> bool {
        self.issuer.is_some() || self.jwks_url.is_some() || !self.public_keys.is_empty()
    }

    /// A provider signs tokens for every application of its realm: without
    /// an audience, a token issued to any of them would be taken as one
    /// for this app. So a provider needs the audience of this app's
    /// tokens, or the explicit choice to take them all.
    fn check_audience(&self) -> Result<(), ServerError> {
        match (self.audience.is_empty(), self.audience_any) {
            (false, true) => Err(ServerError::Setting(
                "--jwt-audience and --jwt-audience-any say different things; give one".to_owned(),
            )),
            (true, false) if self.configured() => Err(ServerError::Setting(
                "an identity provider's tokens need this app's audience: set --jwt-audience \
                 (AEGIS_JWT_AUDIENCE) to what its tokens for this app hold in `aud`, or \
                 --jwt-audience-any (AEGIS_JWT_AUDIENCE_ANY=1) to accept the tokens it issues \
                 to any of its clients"
                    .to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: std::net::IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// From `AEGIS_JWT_SECRET`; else [`Config::secret`] keeps one in the data dir.
    pub jwt_secret: Option<String>,
    pub dev_mode: bool,
    /// The built web app to serve at `/`; `None`: the app's default.
    pub web_dir: Option<PathBuf>,
    /// Columns (module, column) the schema check may drop with their data.
    pub allow_drop: Vec<(String, String)>,
    pub identity: Identity,
    pub log_format: LogFormat,
    /// `/metrics` on its own listener, open.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `/metrics` beside the API, to this bearer token.
    pub metrics_token: Option<String>,
    /// The OpenTelemetry collector the spans go to, over OTLP/HTTP.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the spans' `service.name` (default: the app's).
    pub service_name: Option<String>,
    /// Where files' bytes are kept: `None` for the database, else an
    /// `s3://bucket/prefix` URL.
    pub file_store: Option<String>,
}

/// `--file-store`: `database` (as none), or an `s3://bucket[/prefix]` URL.
fn file_store(given: Option<String>) -> Result<Option<String>, ServerError> {
    match given.as_deref().map(str::trim) {
        None | Some("" | "database") => Ok(None),
        Some(url)
            if url
                .strip_prefix("s3://")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')) =>
        {
            Ok(Some(url.to_owned()))
        }
        Some(other) => Err(ServerError::Setting(format!(
            "--file-store `{other}` is neither `database` nor an S3 URL as s3://bucket/prefix"
        ))),
    }
}

/// Whether a variable says yes (`1` or `true`).
fn is_on(value: Option<String>) -> bool {
    value.is_some_and(|v| v == "1" || v == "true")
}

/// The flag's value, or the variable `name`'s parsed (`what` it must be).
fn flag_or_parsed<T: std::str::FromStr>(
    flag: Option<T>,
    variable: Option<String>,
    name: &str,
    what: &str,
) -> Result<Option<T>, ServerError> {
    match (flag, variable) {
        (Some(given), _) => Ok(Some(given)),
        (None, Some(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| ServerError::Setting(format!("{name} `{text}` is not {what}"))),
        (None, None) => Ok(None),
    }
}

fn list(text: Option<String>, separator: char) -> Vec<String> {
    text.map(|text| {
        text.split(separator)
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

impl Config {
    /// Flags over the environment (`env` reads a variable).
    pub fn resolve(
        options: Options,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ServerError> {
        let env = |name: &str| env(name).filter(|value| !value.is_empty());
        let host = flag_or_parsed(options.host, env("HOST"), "HOST", "an IP address")?;
        let port = flag_or_parsed(options.port, env("PORT"), "PORT", "a port number")?;
        let data_dir = options
            .data_dir
            .clone()
            .or_else(|| env("AEGIS_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = options
            .database_url
            .clone()
            .or_else(|| env("DATABASE_URL"))
            .unwrap_or_else(|| {
                format!("sqlite://{}?mode=rwc", data_dir.join("aegis.db").display())
            });
        let log_format = match (options.log_format, env("AEGIS_LOG_FORMAT")) {
            (Some(format), _) => format,
            (None, Some(format)) => clap::ValueEnum::from_str(&format, true).map_err(|_| {
                ServerError::Setting(format!(
                    "AEGIS_LOG_FORMAT `{format}` is not a log format: `text` or `json`"
                ))
            })?,
            (None, None) => LogFormat::Text,
        };
        let metrics_listen = flag_or_parsed(
            options.metrics_listen,
            env("AEGIS_METRICS_LISTEN"),
            "AEGIS_METRICS_LISTEN",
            "an address and port",
        )?;
        let identity = Identity::resolve(&options, &env)?;
        Ok(Config {
            host: host.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
            port: port.unwrap_or(8080),
            data_dir,
            database_url,
            jwt_secret: env("AEGIS_JWT_SECRET"),
            dev_mode: options.dev || is_on(env("AEGIS_DEV")),
            web_dir: options
                .web_dir
                .or_else(|| env("AEGIS_WEB_DIR").map(PathBuf::from)),
            allow_drop: options.allow_drop,
            identity,
            log_format,
            metrics_listen,
            metrics_token: options.metrics_token.or_else(|| env("AEGIS_METRICS_TOKEN")),
            otlp_endpoint: options
                .otlp_endpoint
                .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT")),
            service_name: env("OTEL_SERVICE_NAME"),
            file_store: file_store(options.file_store.or_else(|| env("AEGIS_FILE_STORE")))?,
        })
    }

    /// Flags over the process's environment.
    pub fn from_env(options: Options) -> Result<Config, ServerError> {
        Config::resolve(options, |name| std::env::var(name).ok())
    }

    /// The token secret: `AEGIS_JWT_SECRET`, or the one kept in the data
    /// dir, made (random, readable by its owner only) when missing.
    pub fn secret(&self) -> Result<String, ServerError> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("jwt-secret");
        match std::fs::read_to_string(&path) {
            Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
            Ok(_) => return Err(ServerError::EmptySecret(path)),
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(ServerError::file("read", &path)(error));
            }
            Err(_) => {}
        }
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        std::fs::create_dir_all(&self.data_dir)
            .map_err(ServerError::file("create", &self.data_dir))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(ServerError::file("create", &path))?;
        std::io::Write::write_all(&mut file, secret.as_bytes())
            .map_err(ServerError::file("write", &path))?;
        Ok(secret)
    }

    /// The token verifier: the server's own HS256 tokens (its secret),
    /// and the identity provider's, whose keys come from its discovery
    /// document unless a JWKS URL or PEM keys are given.
    pub async fn auth(&self) -> Result<Auth, ServerError> {
        let identity = &self.identity;
        let mut builder = Auth::builder().secret(self.secret()?.as_bytes());
        for path in &identity.public_keys {
            let pem =
                std::fs::read(path).map_err(ServerError::file("read the public key", path))?;
            builder = builder.public_key_pem(&pem);
        }
        let mut issuer = identity.issuer.clone();
        let jwks_url = match (&identity.jwks_url, &identity.issuer) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(given)) if identity.public_keys.is_empty() => {
                let found = crate::auth::discover(given)
                    .await
                    .map_err(ServerError::Discovery)?;
                // The document's spelling (a trailing slash or not) is the
                // one its tokens carry.
                issuer = Some(found.issuer);
                Some(found.jwks_uri)
            }
            _ => None,
        };
        if let Some(url) = jwks_url {
            builder = builder.jwks_url(url);
        }
        if let Some(issuer) = issuer {
            builder = builder.issuer(issuer);
        }
        for audience in &identity.audience {
            builder = builder.audience(audience);
        }
        if let Some(claim) = &identity.user_claim {
            builder = builder.user_claim(claim);
        }
        for grant in &identity.grants {
            builder = builder.grant(grant.clone());
        }
        Ok(builder.build()?)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
