//! The example's command line: every Aegis app's flags and subcommands
//! ([`aegis::server::Options`], whose docs list them with their
//! environment variables), and `--seed`. `example-app --help` lists it all.

use aegis::server::{Command, Config, ENVIRONMENT, Options, ServerError};
use clap::Parser;

/// The Aegis example app: budgets, authors, suppliers and user roles,
/// served with their live Angular front end.
#[derive(Parser, Debug)]
#[command(version, about, after_help = ENVIRONMENT)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    /// Add a little demo data to empty tables at start
    #[arg(long, global = true)]
    pub seed: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where `ng build` puts the example's web app.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist/web/browser");

/// Parses `args` (without the program name) and resolves them over the
/// environment (`env` reads a variable).
pub fn from_env_and_args(
    env: impl Fn(&str) -> Option<String>,
    args: impl IntoIterator<Item = String>,
) -> Result<Config, ServerError> {
    let cli = Cli::try_parse_from(std::iter::once("example-app".to_owned()).chain(args))
        .map_err(|e| ServerError::Setting(e.to_string()))?;
    Config::resolve(cli.options, env)
}
