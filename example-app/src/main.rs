//! Serves the example app: `cargo run -p example-app -- --dev`.

use std::process::ExitCode;

use example_app::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match Config::from_env_and_args(
        |name| std::env::var(name).ok(),
        std::env::args().skip(1),
    ) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::create_dir_all(&config.data_dir) {
        eprintln!(
            "error: cannot create {}: {error}",
            config.data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let aegis = match example_app::start(&config).await {
        Ok(aegis) => aegis,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if config.dev_mode {
        tracing::warn!("dev mode: /api/dev/token hands out tokens for every feature");
    }
    tracing::info!("serving on http://{address}");
    let app = example_app::app(aegis, config.dev_mode);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = aegis::axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: the server stopped: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
