//! What stops a server command, as [`ServerError`]: each kind of failure
//! a variant, so an app's `main` can tell a bad setting from a database
//! that is not there; printed by [`super::exit_code`].

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a command of the shared command line (serve, migrate, token)
/// stopped, or why it could not begin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A flag or environment variable that cannot be used as given; the
    /// message names it.
    #[error("{0}")]
    Setting(String),
    /// A file or folder the server reads or makes.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was tried: `read`, `create`, `write`.
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The kept token secret is an empty file.
    #[error("{} is empty; delete it to make a new one", .0.display())]
    EmptySecret(PathBuf),
    /// The identity provider's discovery document could not be read.
    #[error("{0}")]
    Discovery(String),
    /// The database cannot be reached.
    #[error("cannot connect: {0}")]
    Connect(#[source] crate::Error),
    /// The modules' tables cannot be brought to their models.
    #[error("cannot start: {0}")]
    Install(#[source] crate::Error),
    /// `migrate` found a change the schema check refuses.
    #[error("some changes are refused; see REFUSED above")]
    Refused,
    /// A listener cannot be bound (`what`: empty, or ` for metrics`).
    #[error("cannot listen on {address}{what}: {source}")]
    Listen {
        address: SocketAddr,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Serving ended with an error of the listener.
    #[error("the server stopped: {0}")]
    Stopped(#[source] std::io::Error),
    /// Spans cannot be exported as configured.
    #[error("{0}")]
    Telemetry(String),
    /// Anything else the runtime refused (a token it cannot sign, a plan
    /// it cannot read).
    #[error(transparent)]
    Aegis(#[from] crate::Error),
    /// A step of the app's own (seeding, say), with what it was doing.
    #[error("{context}: {source}")]
    App {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ServerError {
    /// A failure of the app's own step `context` (`"cannot seed the demo
    /// data"`).
    pub fn app(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ServerError::App {
            context: context.into(),
            source: source.into(),
        }
    }

    pub(crate) fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ServerError::File {
            action,
            path,
            source,
        }
    }
}
