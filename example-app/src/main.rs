//! Serves the example app: `cargo run -p example-app -- --dev`; prints a
//! token: `cargo run -p example-app -- token alice --write '*'`; shows the
//! schema changes the modules need: `cargo run -p example-app -- migrate`.

use std::process::ExitCode;

use aegis::server::{Command, Config, ServerError, Telemetry};
use clap::Parser;
use example_app::config::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match Config::from_env(cli.options) {
        Ok(config) => {
            let command = cli.command.unwrap_or(Command::Serve);
            Telemetry::around(&config, "example-app", run(&config, command, cli.seed)).await
        }
        Err(error) => Err(error),
    };
    aegis::server::exit_code(outcome)
}

async fn run(config: &Config, command: Command, seed: bool) -> Result<(), ServerError> {
    let server = example_app::server();
    if command != Command::Serve {
        return server.run(config, command).await;
    }
    let aegis = server.start(config).await?;
    if seed {
        example_app::seed::seed(&aegis)
            .await
            .map_err(|e| ServerError::app("cannot seed the demo data", e))?;
    }
    server.serve(config, aegis).await
}
