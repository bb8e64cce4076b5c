//! Serves the example app: `cargo run -p example-app -- --dev`; prints a
//! token: `cargo run -p example-app -- token alice --write '*'`; shows the
//! schema changes the modules need: `cargo run -p example-app -- migrate`.

use std::process::ExitCode;

use clap::Parser;
use example_app::config::{Cli, Command, Config};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = match Config::resolve(cli.options, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config).await,
        Command::Token { user, read, write } => print_token(&config, &user, &read, &write),
        Command::Migrate { apply } => migrate(&config, apply).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let aegis = example_app::start(config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    if config.seed {
        example_app::seed::seed(&aegis)
            .await
            .map_err(|e| format!("cannot seed the demo data: {e}"))?;
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    if config.dev_mode {
        tracing::warn!("dev mode: /api/dev/token hands out tokens for every feature");
    }
    tracing::info!("serving on http://{address}");
    let mut app = example_app::app(aegis, config.dev_mode);
    if config.web_dir.join("index.html").is_file() {
        tracing::info!("serving the web app from {}", config.web_dir.display());
        app = example_app::with_web(app, &config.web_dir);
    } else {
        tracing::warn!(
            "no web app at {}; build it with `npx ng build` in example-app/web",
            config.web_dir.display()
        );
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    aegis::axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

/// Prints what the schema check would change (SQL), or with `apply` makes
/// the changes; fails when a change is refused.
async fn migrate(config: &Config, apply: bool) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let aegis = example_app::runtime(config)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let api = example_app::api(config);
    let plan = api.plan(&aegis).await.map_err(|e| e.to_string())?;
    print!("{plan}");
    if plan.refusals().next().is_some() {
        return Err("some changes are refused; see REFUSED above".to_owned());
    }
    if apply && !plan.is_empty() {
        let applied = api.install(&aegis).await.map_err(|e| e.to_string())?;
        println!("-- applied {} statement(s)", applied.statements().count());
    } else if !plan.is_empty() {
        println!(
            "-- nothing changed; run `example-app migrate --apply` (or start the server) to apply"
        );
    }
    Ok(())
}

/// A 24-hour token signed with the server's secret.
fn print_token(
    config: &Config,
    user: &str,
    read: &[String],
    write: &[String],
) -> Result<(), String> {
    let secret = config.secret()?;
    let read: Vec<&str> = read.iter().map(String::as_str).collect();
    let write: Vec<&str> = write.iter().map(String::as_str).collect();
    let claims = aegis::auth::Claims::new(user.to_owned(), 24 * 3600, &read, &write);
    let token = aegis::auth::Auth::new(secret.as_bytes())
        .issue(&claims)
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}
