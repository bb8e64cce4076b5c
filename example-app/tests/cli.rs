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
    assert!(text(&applied.stdout).contains("-- applied 5 statement(s)"));

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
