//! Hostile and careless input: every answer is a JSON `ApiError` that says
//! what is wrong, a typo never writes, one user's import cannot take the
//! server, and no input makes an answer grow without bound.

mod common;

use aegis::Limits;
use aegis::axum::body::Body;
use aegis::axum::http::Request;
use aegis::protocol::EventAction;
use common::*;
use serde_json::json;

fn assert_api_error(reply: &aegis::testing::Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.body["code"], code, "{}", reply.text);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a message: {}",
        reply.text
    );
}

async fn total(app: &TestApp) -> u64 {
    let reply = app
        .call("GET", "/api/budgets", Some(&app.admin()), None, &[])
        .await;
    reply.body["total"].as_u64().unwrap()
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_so_a_typo_never_writes() {
    let app = app().await;
    let admin = app.admin();
    for typo in ["dryrun", "dry_run"] {
        let request = Request::post(format!("/api/budgets/import?{typo}=true"))
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "text/csv")
            .body(Body::from("name,amount,year,approved\nx,1,2026,true\n"))
            .unwrap();
        let reply = app.send(request).await;
        assert_api_error(&reply, 400, "bad_request");
        assert!(reply.text.contains(typo), "{}", reply.text);
    }
    assert_eq!(total(&app).await, 0, "nothing was written");

    for (method, uri) in [
        ("GET", "/api/budgets?colour=red"),
        ("GET", "/api/budgets/1?x=1"),
        ("POST", "/api/budgets?x=1"),
        ("PUT", "/api/budgets/1?x=1"),
        ("DELETE", "/api/budgets/1?x=1"),
        ("GET", "/api/budgets/import/template?x=1"),
        ("GET", "/api/budgets/import/budgets-1?x=1"),
    ] {
        let reply = app
            .call(method, uri, Some(&admin), Some(budget("x", 1.0)), &[])
            .await;
        assert_api_error(&reply, 400, "bad_request");
    }
    assert_eq!(total(&app).await, 0);
}

#[tokio::test]
async fn every_error_of_the_api_is_json() {
    let app = app().await;
    let admin = app.admin();

    let bad_query = app
        .call("GET", "/api/budgets?page=abc", Some(&admin), None, &[])
        .await;
    assert_api_error(&bad_query, 400, "bad_request");

    let huge = format!(
        "{{\"name\":\"{}\",\"amount\":1,\"year\":2026,\"approved\":true}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let request = Request::post("/api/budgets")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    assert_api_error(&app.send(request).await, 413, "too_large");

    let patch = app
        .call("PATCH", "/api/budgets", Some(&admin), None, &[])
        .await;
    assert_api_error(&patch, 405, "method_not_allowed");

    for path in [
        "/api",
        "/api/",
        "/api/nonexistent",
        "/api/user_roles",
        "/api/budgets/1/extra",
    ] {
        let reply = app.call("GET", path, Some(&admin), None, &[]).await;
        assert_api_error(&reply, 404, "not_found");
        assert!(reply.text.contains(path), "{}", reply.text);
    }
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let app = app().await;
    let now = chrono::Utc::now().timestamp();
    let claims =
        json!({"sub": "u1", "exp": now + 600, "nbf": now + 300, "read": [], "write": ["*"]});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let reply = app
        .call("GET", "/api/budgets", Some(&token), None, &[])
        .await;
    assert_api_error(&reply, 401, "unauthorized");
    assert!(reply.text.contains("not valid yet"), "{}", reply.text);
}

#[tokio::test]
async fn search_is_bounded_and_its_wildcards_are_text() {
    let app = app().await;
    let admin = app.admin();
    for name in ["100% sure", "snake_case", "plain", "back\\slash"] {
        let reply = app
            .call(
                "POST",
                "/api/budgets",
                Some(&admin),
                Some(budget(name, 1.0)),
                &[],
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201);
    }
    let found = |q: &str| {
        let uri = format!(
            "/api/budgets?q={}",
            q.replace('%', "%25").replace('\\', "%5C")
        );
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = app.call("GET", &uri, Some(&admin), None, &[]).await;
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
            reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("%").await, ["100% sure"]);
    assert_eq!(found("_").await, ["snake_case"]);
    assert_eq!(found("e_c").await, ["snake_case"]);
    assert_eq!(found("\\").await, ["back\\slash"]);
    assert_eq!(found("PLAIN").await, ["plain"]);

    // Unicode case-insensitive, the same on SQLite and PostgreSQL.
    let reply = app
        .call(
            "POST",
            "/api/budgets",
            Some(&admin),
            Some(budget("ÉCOLE Ünïcode", 1.0)),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 201);
    for q in ["ÉCOLE Ünïcode", "école ünïcode", "ÜNÏ", "cole ü"] {
        let uri = format!(
            "/api/budgets?q={}",
            q.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
        );
        let reply = app.call("GET", &uri, Some(&admin), None, &[]).await;
        assert_eq!(reply.body["total"], 1, "{q}: {}", reply.text);
        assert_eq!(reply.body["data"][0]["name"], "ÉCOLE Ünïcode");
    }

    let long = "a".repeat(201);
    let reply = app
        .call(
            "GET",
            &format!("/api/budgets?q={long}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_api_error(&reply, 400, "bad_request");
    assert!(reply.text.contains("200 characters"), "{}", reply.text);
}

#[tokio::test]
async fn row_errors_quote_an_excerpt_so_answers_stay_small() {
    let app = app().await;
    let mut events = app.events();
    let huge = "9x".repeat(2 * 1024 * 1024);
    let csv = format!(
        "name,amount,year,approved\n{}",
        format!("a,{huge},2026,true\n").repeat(3)
    );
    let reply = app.import("budgets", &csv, false).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["failedRows"], 3);
    let status = serde_json::to_string(&job).unwrap();
    assert!(status.len() < 2048, "{} bytes", status.len());
    let message = job["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("`9x9x") && message.ends_with("…` is not a number"),
        "{message}"
    );
    let completed = loop {
        let event = events.recv().await.unwrap();
        if event.message.action == EventAction::ImportCompleted {
            break event;
        }
    };
    assert!(
        completed.frame.len() < 2048,
        "{} bytes",
        completed.frame.len()
    );
}

/// The documented bound: 100 kept errors, each of the longest message a
/// serde error can make, stay under 64 KiB.
#[tokio::test]
async fn the_completed_frame_stays_under_its_bound_with_every_error_kept() {
    let app = app().await;
    let mut events = app.events();
    let long_name = "n".repeat(10_000);
    // `approved` is a bool: serde quotes the whole text it cannot read.
    let row = format!("a,1,2026,{long_name}\n");
    let csv = format!("name,amount,year,approved\n{}", row.repeat(150));
    let reply = app.import("budgets", &csv, false).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["failedRows"], 150);
    assert_eq!(job["errors"].as_array().unwrap().len(), 100);
    let completed = loop {
        let event = events.recv().await.unwrap();
        if event.message.action == EventAction::ImportCompleted {
            break event;
        }
    };
    assert!(
        completed.frame.len() < 64 * 1024,
        "{} bytes",
        completed.frame.len()
    );
}

#[tokio::test]
async fn progress_counts_failed_rows_too() {
    let app = app_with(Limits {
        import_batch: 100,
        ..Limits::default()
    })
    .await;
    let mut events = app.events();
    let csv = format!(
        "name,amount,year,approved\n{}",
        "x,oops,1,true\n".repeat(5_000)
    );
    let reply = app.import("budgets", &csv, false).await;
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(
        (&job["processedRows"], &job["failedRows"], &job["progress"]),
        (&json!(5_000), &json!(5_000), &json!(100))
    );
    let mut processed: Vec<u64> = Vec::new();
    while let Ok(event) = events.try_recv() {
        if event.message.action == EventAction::ImportProgress {
            processed.push(event.message.data["processedRows"].as_u64().unwrap());
        }
    }
    assert_eq!(processed.last(), Some(&5_000));
    assert!(
        processed.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {processed:?}"
    );
}

#[tokio::test]
async fn a_user_runs_a_bounded_number_of_imports_at_once() {
    let app = app_with(Limits {
        imports_per_user: 1,
        ..Limits::default()
    })
    .await;
    let big = format!(
        "name,amount,year,approved\n{}",
        "x,1,2026,true\n".repeat(50_000)
    );
    let first = app.import("budgets", &big, true).await;
    assert_eq!(first.status.as_u16(), 202);
    let second = app.import("budgets", &big, true).await;
    assert_api_error(&second, 429, "too_many_requests");
    // Another user is not held back by the first one's limit.
    let other = app.token("u2", &[], &["*"]);
    let request = Request::post("/api/budgets/import?dryRun=true")
        .header("authorization", format!("Bearer {other}"))
        .header("content-type", "text/csv")
        .body(Body::from("name,amount,year,approved\nx,1,2026,true\n"))
        .unwrap();
    assert_eq!(app.send(request).await.status.as_u16(), 202);
    // Once the first has finished, the place is free again.
    app.finished_job("budgets", first.body["jobId"].as_str().unwrap())
        .await;
    let mut third = app
        .import(
            "budgets",
            "name,amount,year,approved\nx,1,2026,true\n",
            true,
        )
        .await;
    for _ in 0..100 {
        if third.status.as_u16() == 202 {
            break;
        }
        // The slot is freed as the job's task ends, just after it reads finished.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        third = app
            .import(
                "budgets",
                "name,amount,year,approved\nx,1,2026,true\n",
                true,
            )
            .await;
    }
    assert_eq!(third.status.as_u16(), 202, "{}", third.text);
}

/// A dev-mode server serves this machine's pages only: a page that
/// rebinds its own name to 127.0.0.1 (`Host` names it), or opens a
/// WebSocket from another site (`Origin` names it), is refused with a
/// JSON 403, on every route; this machine's names are served.
#[tokio::test]
async fn dev_mode_answers_this_machine_only() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let config = aegis::server::Config::resolve(
        aegis::server::Options {
            dev: true,
            ..Default::default()
        },
        |name| match name {
            "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
            "AEGIS_DATA_DIR" => Some(dir.clone()),
            _ => None,
        },
    )
    .unwrap();
    let server = aegis::server::Server::new(api());
    let aegis = server.start(&config).await.unwrap();
    let router = server.router(aegis, &config);
    let ask = |path: &str, headers: &[(&str, &str)]| {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::empty()).unwrap();
        tower::ServiceExt::oneshot(router.clone(), request)
    };
    let foreign = [
        [("host", "rebind.attacker.example")],
        [("host", "rebind.attacker.example:8080")],
    ];
    for path in ["/api/dev/token", "/api/budgets", "/healthz", "/metrics"] {
        for headers in &foreign {
            let response = ask(path, headers).await.unwrap();
            assert_eq!(response.status(), 403, "{path} {headers:?}");
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(error["code"], "forbidden", "{error}");
            assert!(
                error["message"].as_str().unwrap().contains("Host"),
                "{error}"
            );
        }
    }
    let page = [
        ("host", "127.0.0.1:8080"),
        ("origin", "https://attacker.example"),
    ];
    assert_eq!(ask("/api/dev/token", &page).await.unwrap().status(), 403);
    for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
        let local = [("host", host), ("origin", "http://localhost:8080")];
        let response = ask("/api/dev/token", &local).await.unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }

    // The WebSocket, over a real socket: another site's page is refused
    // before the upgrade; this machine's is upgraded.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { aegis::axum::serve(listener, router).await });
    let open = |origin: &'static str| async move {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request).await
    };
    match open("https://attacker.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("another site's WebSocket was not refused: {other:?}"),
    }
    assert!(open("http://127.0.0.1:8080").await.is_ok());
}

/// The served web app and the API carry the security headers: a content
/// security policy (scripts from the app alone; connections to it and to
/// the identity provider), no framing, `nosniff`, no referrer.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let data = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    let (dir, web_dir) = (
        data.path().display().to_string(),
        web.path().display().to_string(),
    );
    let config = aegis::server::Config::resolve(Default::default(), |name| match name {
        "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
        "AEGIS_DATA_DIR" => Some(dir.clone()),
        "AEGIS_WEB_DIR" => Some(web_dir.clone()),
        "AEGIS_OIDC_ISSUER" => Some("https://kc.example/realms/shop".to_owned()),
        "AEGIS_JWKS_URL" => Some("https://kc.example/certs".to_owned()),
        "AEGIS_JWT_AUDIENCE" => Some("shop-web".to_owned()),
        _ => None,
    })
    .unwrap();
    let server = aegis::server::Server::new(api());
    let aegis = server.start(&config).await.unwrap();
    let router = server.router(aegis, &config);
    for path in ["/", "/budgets", "/api/budgets", "/api/nowhere", "/healthz"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{path}: no {name}"))
        };
        let policy = header("content-security-policy");
        assert!(policy.contains("script-src 'self';"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(
            policy.contains("connect-src 'self' https://kc.example;"),
            "{path}: {policy}"
        );
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
    }
}
