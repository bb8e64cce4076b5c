//! Serves the example app: `cargo run -p example-app -- --dev`; or prints
//! a token: `cargo run -p example-app -- token alice --write '*'`.

use std::process::ExitCode;

use example_app::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("token") {
        return print_token(&args[1..]);
    }
    let config = match Config::from_env_and_args(|name| std::env::var(name).ok(), args) {
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
    if config.seed
        && let Err(error) = example_app::seed::seed(&aegis).await
    {
        eprintln!("error: cannot seed the demo data: {error}");
        return ExitCode::FAILURE;
    }
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
    if let Err(error) = aegis::axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: the server stopped: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `token <user> [--read a,b] [--write c]`: a 24-hour token signed with
/// the server's secret.
fn print_token(args: &[String]) -> ExitCode {
    let usage = "usage: example-app token <user> [--read a,b] [--write c] (`*` for every feature)";
    let Some(user) = args.first() else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let mut read = Vec::new();
    let mut write = Vec::new();
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let list = match flag.as_str() {
            "--read" => &mut read,
            "--write" => &mut write,
            _ => {
                eprintln!("{usage}");
                return ExitCode::FAILURE;
            }
        };
        list.extend(
            rest.next()
                .into_iter()
                .flat_map(|v| v.split(','))
                .map(str::to_owned),
        );
    }
    let config = match Config::from_env_and_args(|name| std::env::var(name).ok(), Vec::new()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let secret = match config.secret() {
        Ok(secret) => secret,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let read: Vec<&str> = read.iter().map(String::as_str).collect();
    let write: Vec<&str> = write.iter().map(String::as_str).collect();
    let claims = aegis::auth::Claims::new(user.clone(), 24 * 3600, &read, &write);
    match aegis::auth::Auth::new(secret.as_bytes()).issue(&claims) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
