//! Metrics move as the work does: a scripted sequence (creates over REST
//! to a subscribed client, one lagging client, an import) and the series
//! it must move by exactly that much; and who may read `/metrics`.

mod common;

use common::client::Client;
use common::*;
use serde_json::json;

/// The value of the series `name` whose labels include `labels`, or 0.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, label)| line.contains(&format!("{key}=\"{label}\"")))
        })
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// The metrics now.
fn scrape(app: &TestApp) -> String {
    app.aegis.metrics()
}

#[tokio::test]
async fn a_scripted_sequence_moves_each_series_by_what_it_did() {
    aegis::metrics::install();
    // A short bus: a client that reads nothing falls behind soon.
    let app = TestApp::with_limits(
        api(),
        aegis::Limits {
            event_backlog: 16,
            ..aegis::Limits::default()
        },
    )
    .await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    client.subscribe("budgets", None).await;
    let before = scrape(&app);

    // Five creates, each delivered to the subscribed client.
    for n in 0..5 {
        let reply = app
            .call(
                "POST",
                "/api/budgets",
                Some(&app.admin()),
                Some(budget(&format!("B{n}"), 1.0)),
                &[],
            )
            .await;
        assert_eq!(reply.status, 201);
        assert_eq!(client.frame().await["action"], "created");
    }
    let invalid = app
        .call(
            "POST",
            "/api/budgets",
            Some(&app.admin()),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(invalid.status, 422);
    let after = scrape(&app);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let created = [
        ("method", "POST"),
        ("route", "/api/budgets"),
        ("status", "201"),
    ];
    assert_eq!(moved("aegis_http_requests_total", &created), 5.0, "{after}");
    let refused = [
        ("method", "POST"),
        ("route", "/api/budgets"),
        ("status", "422"),
    ];
    assert_eq!(moved("aegis_http_requests_total", &refused), 1.0);
    let timed = [("method", "POST"), ("route", "/api/budgets")];
    assert_eq!(
        moved("aegis_http_request_duration_seconds_count", &timed),
        6.0
    );
    assert_eq!(moved("aegis_ws_delivery_lag_seconds_count", &[]), 5.0);
    assert_eq!(value(&after, "aegis_ws_connections", &[]), 1.0);
    assert_eq!(value(&after, "aegis_ws_subscriptions", &[]), 1.0);
    assert!(value(&after, "aegis_db_pool_wait_seconds_count", &[]) >= 5.0);

    // One client that reads nothing while far more than its socket holds
    // is published: one resync, for lagging.
    // The first client leaves first: only the slow one hears the flood.
    client.ws.close(None).await.unwrap();
    while app.aegis.hub().connections() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = scrape(&app);
    let mut slow = Client::authed(address, &app.admin()).await;
    slow.subscribe("budgets", None).await;
    flood(&app, 6..4006).await;
    // Everything queued for it, in rounds of ping and pong until a round
    // brings nothing else: each time it fell behind it was told once, and
    // each telling counts.
    // (The flood is not in the log: after a lagging resync the next of its
    // events may also be a gap.)
    let mut told: std::collections::HashMap<String, u32> = Default::default();
    loop {
        slow.send(json!({"type": "ping"})).await;
        let mut quiet = true;
        loop {
            let frame = slow.frame().await;
            match frame["type"].as_str() {
                Some("pong") => break,
                Some("resync") => {
                    *told
                        .entry(frame["reason"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                    quiet = false;
                }
                _ => quiet = false,
            }
        }
        if quiet {
            break;
        }
    }
    assert!(told.get("lagging").is_some_and(|n| *n >= 1), "{told:?}");
    let after = scrape(&app);
    for reason in ["lagging", "gap"] {
        let labels = [("reason", reason)];
        assert_eq!(
            value(&after, "aegis_ws_resyncs_total", &labels)
                - value(&before, "aegis_ws_resyncs_total", &labels),
            f64::from(told.get(reason).copied().unwrap_or(0)),
            "{reason}"
        );
    }

    // An import: two rows written, one failed.
    let before = scrape(&app);
    let csv =
        "name,amount,year,approved,note\nA,1,2026,false,\nB,2,2026,false,\nC,lots,2026,false,\n";
    let accepted = app.import("budgets", csv, false).await;
    let job = accepted.body["jobId"].as_str().unwrap().to_owned();
    let done = app.finished_job("budgets", &job).await;
    assert_eq!(
        (done["successfulRows"].clone(), done["failedRows"].clone()),
        (json!(2), json!(1))
    );
    let after = scrape(&app);
    let rows = |outcome: &str| {
        let labels = [("feature", "budgets"), ("outcome", outcome)];
        value(&after, "aegis_import_rows_total", &labels)
            - value(&before, "aegis_import_rows_total", &labels)
    };
    assert_eq!((rows("imported"), rows("failed")), (2.0, 1.0));
}

#[tokio::test]
async fn metrics_are_served_to_their_token_or_in_dev_mode_alone() {
    let data = tempfile::tempdir().unwrap();
    let config = |vars: &[(&str, &str)], dev: bool| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([
                ("DATABASE_URL".to_owned(), "sqlite::memory:".to_owned()),
                (
                    "AEGIS_DATA_DIR".to_owned(),
                    data.path().display().to_string(),
                ),
            ])
            .collect();
        let options = aegis::server::Options {
            dev,
            ..Default::default()
        };
        aegis::server::Config::resolve(options, |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap()
    };
    let server = aegis::server::Server::new(api());
    let get = |router: aegis::axum::Router, token: Option<&'static str>| async move {
        get_from(router, "/metrics", token).await
    };

    let guarded = config(&[("AEGIS_METRICS_TOKEN", "scrape-me")], false);
    let aegis = server.start(&guarded).await.unwrap();
    let (status, _) = get(server.router(aegis.clone(), &guarded), None).await;
    assert_eq!(status, 401);
    let (status, _) = get(server.router(aegis.clone(), &guarded), Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, text) = get(server.router(aegis.clone(), &guarded), Some("scrape-me")).await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE aegis_ws_connections gauge"), "{text}");

    let dev = config(&[], true);
    let (status, _) = get(server.router(aegis.clone(), &dev), None).await;
    assert_eq!(status, 200, "open in dev mode");
    let closed = config(&[], false);
    let (status, _) = get(server.router(aegis.clone(), &closed), None).await;
    assert_eq!(status, 404, "not served without a token outside dev mode");
    let elsewhere = config(
        &[
            ("AEGIS_METRICS_LISTEN", "127.0.0.1:0"),
            ("AEGIS_METRICS_TOKEN", "t"),
        ],
        true,
    );
    let (status, _) = get(server.router(aegis, &elsewhere), Some("t")).await;
    assert_eq!(status, 404, "on its own listener, not beside the API");
}

/// The number of series of the request metrics for the routes the test
/// below asks for (other tests of this process count their own).
fn request_series(text: &str) -> usize {
    text.lines()
        .filter(|line| line.starts_with("aegis_http_request"))
        .filter(|line| {
            ["/healthz", "/api/{*rest}", "unmatched"]
                .iter()
                .any(|route| line.contains(&format!("route=\"{route}\"")))
        })
        .count()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_series() {
    aegis::metrics::install();
    let app = app().await;
    let send = |method: String, path: String| {
        let request = aegis::axum::http::Request::builder()
            .method(method.as_str())
            .uri(path)
            .body(aegis::axum::body::Body::empty())
            .unwrap();
        app.send(request)
    };
    // Each kind once: its series exist from then on.
    send("M0".to_owned(), "/healthz".to_owned()).await;
    send("GET".to_owned(), "/api/no-such-0".to_owned()).await;
    send("M0".to_owned(), "/api/no-such-0".to_owned()).await;
    send("GET".to_owned(), "/no-such-0".to_owned()).await;
    let before = request_series(&scrape(&app));
    for n in 1..=100 {
        let reply = send(format!("M{n}"), "/healthz".to_owned()).await;
        assert_eq!(reply.status, 405);
        let reply = send("GET".to_owned(), format!("/api/no-such-{n}/{n}")).await;
        assert_eq!(reply.status, 404);
        send(format!("X-{n}"), format!("/api/no-such-{n}")).await;
        let reply = send("GET".to_owned(), format!("/no-such-{n}")).await;
        assert_eq!(reply.status, 404);
    }
    let after = scrape(&app);
    assert!(before > 0, "{after}");
    assert_eq!(request_series(&after), before, "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
    assert!(!after.contains("method=\"M1\""), "{after}");
}
