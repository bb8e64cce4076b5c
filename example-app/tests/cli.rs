//! The example app's command line, run as a user runs it.

use std::process::{Command, Output};

fn example_app(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_example-app"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the example-app binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let help = example_app(dir.path(), &["--help"]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for word in ["serve", "token", "migrate", "--port", "--allow-drop"] {
        assert!(help.contains(word), "{help}");
    }
    let version = example_app(dir.path(), &["--version"]);
    assert_eq!(
        text(&version.stdout).trim(),
        format!("example-app {}", env!("CARGO_PKG_VERSION"))
    );
    let wrong = example_app(dir.path(), &["--colour"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("unexpected argument '--colour'"));
}

#[test]
fn migrate_prints_the_plan_and_applies_it_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plan = example_app(dir.path(), &["migrate"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let plan = text(&plan.stdout);
    assert!(
        plan.contains("-- module `budgets`\n--   create the table\nCREATE TABLE `budgets` ("),
        "{plan}"
    );
    assert!(plan.contains("nothing changed"), "{plan}");

    let again = text(&example_app(dir.path(), &["migrate"]).stdout);
    assert_eq!(again, plan, "a plan changes nothing");

    let applied = example_app(dir.path(), &["migrate", "--apply"]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(text(&applied.stdout).contains("-- applied 6 statement(s)"));

    let done = text(&example_app(dir.path(), &["migrate"]).stdout);
    assert_eq!(done, "-- every table matches its model; nothing to do\n");
}

#[tokio::test]
async fn token_prints_a_token_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let token = example_app(dir.path(), &["token", "alice", "--read", "budgets,authors"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let token = text(&token.stdout);
    let secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    let claims = aegis::auth::Auth::new(secret.trim().as_bytes())
        .verify(token.trim())
        .await
        .unwrap();
    assert_eq!(claims.sub, "alice");
    assert!(claims.can_read("authors") && !claims.can_write("budgets"));
}

/// SIGTERM stops the server gracefully: a subscribed WebSocket is closed
/// with 1012 (reconnect elsewhere), and the process ends on its own,
/// successfully.
#[tokio::test]
async fn sigterm_closes_websockets_with_1012_and_exits_cleanly() {
    use futures_util::{SinkExt, StreamExt};
    use std::time::Duration;
    use tokio::io::AsyncBufReadExt;
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let token = example_app(dir.path(), &["token", "ops", "--write", "*"]);
    let token = text(&token.stdout).trim().to_owned();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_example-app"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The log goes to standard output.
    let mut log = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = log
                .next_line()
                .await
                .unwrap()
                .expect("the server logs where it serves");
            if let Some((_, address)) = line.split_once("serving on http://") {
                break address.trim().to_owned();
            }
        }
    })
    .await
    .expect("the server starts");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
        .await
        .unwrap();
    let auth = serde_json::json!({"type": "auth", "token": token}).to_string();
    ws.send(Message::text(auth)).await.unwrap();
    let subscribe = serde_json::json!({"type": "subscribe", "features": ["budgets"]}).to_string();
    ws.send(Message::text(subscribe)).await.unwrap();
    for _ in 0..2 {
        let frame = ws.next().await.unwrap().unwrap();
        assert!(matches!(frame, Message::Text(_)), "{frame:?}");
    }

    let pid = server.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                _ => break None,
            }
        }
    })
    .await
    .expect("closed within the grace period");
    assert_eq!(closed, Some(1012));
    let status = tokio::time::timeout(Duration::from_secs(15), server.wait())
        .await
        .expect("the process ends on its own")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    while let Ok(Some(line)) = log.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("stopped"), "{rest}");
}
