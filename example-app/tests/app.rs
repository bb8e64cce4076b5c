//! The example app's router: every module served, the one without events
//! silent, and dev mode.

use aegis::Served;
use aegis::axum::body::Body;
use aegis::axum::http::{Request, StatusCode};
use aegis::testing::{TestApp, run};
use example_app::aegis_modules::{MODULES, api};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[test]
fn every_module_is_served_with_its_merged_settings() {
    let settings: Vec<_> = MODULES
        .iter()
        .map(|m| (m.module, m.with_events, m.with_import))
        .collect();
    assert_eq!(
        settings,
        [
            ("authors", true, false),
            ("budgets", true, true),
            ("departments", true, false),
            ("suppliers", false, true),
            ("tags", true, false),
            ("user_roles", true, false),
        ]
    );
    // `Budget`'s attribute names no flag; modules.toml turns both on, and
    // the type answers with what is served.
    let budget = <example_app::models::Budget as Served>::SETTINGS;
    assert!(budget.with_events && budget.with_import);
    run(async {
        let app = TestApp::new(api()).await;
        for feature in [
            "authors",
            "budgets",
            "departments",
            "suppliers",
            "tags",
            "user-roles",
        ] {
            let reply = app
                .call(
                    "GET",
                    &format!("/api/{feature}"),
                    Some(&app.admin()),
                    None,
                    &[],
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{feature}: {}", reply.text);
            assert_eq!(reply.body["total"], 0);
        }
        // Import routes exist only where import is on.
        let reply = app
            .call(
                "GET",
                "/api/authors/import/template",
                Some(&app.admin()),
                None,
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    });
}

#[test]
fn suppliers_change_without_events() {
    run(async {
        let app = TestApp::new(api()).await;
        let mut events = app.events();
        let supplier = json!({"name": "Acme", "country": "NL", "active": true, "rating": null});
        let created = app
            .call(
                "POST",
                "/api/suppliers",
                Some(&app.admin()),
                Some(supplier),
                &[],
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(
            created.body,
            json!({"id": 1, "name": "Acme", "country": "NL", "active": true, "rating": null})
        );
        let update = json!({"name": "Acme BV", "country": "NL", "active": false, "rating": 4});
        let updated = app
            .call(
                "PUT",
                "/api/suppliers/1",
                Some(&app.admin()),
                Some(update),
                &[],
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
        assert_eq!(updated.body["rating"], 4);
        let deleted = app
            .call("DELETE", "/api/suppliers/1", Some(&app.admin()), None, &[])
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert!(events.try_recv().is_err(), "suppliers have no events");
        let list = app
            .call("GET", "/api/suppliers", Some(&app.admin()), None, &[])
            .await;
        assert_eq!(
            (list.body["total"].clone(), list.body["seq"].clone()),
            (json!(0), json!(0))
        );
    });
}

async fn get(router: aegis::axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = router
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn dev_mode_alone_hands_out_tokens() {
    run(async {
        let data = tempfile::tempdir().unwrap();
        let config = |args: &[&str]| {
            example_app::config::from_env_and_args(
                |name| match name {
                    "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
                    "AEGIS_DATA_DIR" => Some(data.path().display().to_string()),
                    _ => None,
                },
                args.iter().map(|arg| (*arg).to_owned()),
            )
            .unwrap()
        };
        let (off, on) = (config(&[]), config(&["--dev"]));
        let server = example_app::server();
        let aegis = server.start(&off).await.unwrap();

        let (status, _) = get(server.router(aegis.clone(), &off), "/api/dev/token").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "off by default");
        let (_, sign_in) = get(server.router(aegis.clone(), &off), "/api/auth/config").await;
        assert_eq!(sign_in, json!({"devToken": false, "oidc": null}));

        let (status, body) = get(server.router(aegis.clone(), &on), "/api/dev/token").await;
        assert_eq!(status, StatusCode::OK);
        let (_, sign_in) = get(server.router(aegis.clone(), &on), "/api/auth/config").await;
        assert_eq!(sign_in, json!({"devToken": true, "oidc": null}));
        let token = body["token"].as_str().unwrap();
        let claims = aegis.auth().verify(token).await.unwrap();
        assert_eq!(claims.sub, "dev");
        assert!(claims.can_write("budgets"));
        assert_eq!(body["expiresAt"], claims.exp);
    });
}

/// With the web app served beside the API, its page answers the app's own
/// routes, and never a path under `/api`: those are JSON 404s.
#[test]
fn unknown_api_paths_are_json_404s_beside_the_web_app() {
    run(async {
        let web = tempfile::tempdir().unwrap();
        std::fs::write(
            web.path().join("index.html"),
            "<!doctype html><title>app</title>",
        )
        .unwrap();
        let data = tempfile::tempdir().unwrap();
        let config = example_app::config::from_env_and_args(
            |name| match name {
                "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
                "AEGIS_DATA_DIR" => Some(data.path().display().to_string()),
                _ => None,
            },
            ["--web".to_owned(), web.path().display().to_string()],
        )
        .unwrap();
        let server = example_app::server();
        let aegis = server.start(&config).await.unwrap();
        let app = server.router(aegis, &config);
        for path in [
            "/api/nonexistent",
            "/api/user_roles",
            "/api/budgets/1/extra",
        ] {
            let (status, body) = get(app.clone(), path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body["code"], "not_found", "{path}");
        }
        let response = app
            .oneshot(Request::get("/budgets").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&page).contains("<title>app</title>"));
    });
}

/// The generated tables offer to sort exactly by what the API sorts by,
/// and the API sorts by those: an enum, a date, a boolean among them.
#[test]
fn the_ui_offers_sorting_exactly_where_the_api_sorts() {
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/web/src/app/features");
    for settings in MODULES {
        let feature = settings.module.replace('_', "-");
        let html = std::fs::read_to_string(format!(
            "{features}/{feature}/components/{feature}-list.component.html"
        ))
        .unwrap();
        let offered: Vec<&str> = html
            .split("matColumnDef=\"")
            .skip(1)
            .filter_map(|column| {
                let (name, rest) = column.split_once('"')?;
                let header = rest.split("</th>").next()?;
                header.contains("mat-sort-header").then_some(name)
            })
            .collect();
        assert_eq!(
            offered,
            settings.sortable.unwrap(),
            "{feature}: the table and the API"
        );
    }
    run(async {
        let app = TestApp::new(api()).await;
        for (uri, status) in [
            ("/api/budgets?sort=status", StatusCode::OK),
            ("/api/budgets?sort=-fiscal_year", StatusCode::OK),
            ("/api/authors?sort=bornOn", StatusCode::OK),
            ("/api/suppliers?sort=active", StatusCode::OK),
            ("/api/user-roles?sort=granted_at", StatusCode::OK),
            ("/api/authors?sort=tags", StatusCode::BAD_REQUEST),
            ("/api/budgets?sort=version", StatusCode::BAD_REQUEST),
        ] {
            let reply = app.call("GET", uri, Some(&app.admin()), None, &[]).await;
            assert_eq!(reply.status, status, "{uri}: {}", reply.text);
        }
    });
}

#[test]
fn budgets_are_stamped_and_their_hooks_hold() {
    run(async {
        let app = TestApp::new(example_app::served()).await;
        let ada = app.token("ada", &[], &["budgets"]);
        let budget = json!({ "name": "  Roads ", "amount": 10.0, "fiscal_year": 2026, "status": "approved" });
        let created = app
            .call("POST", "/api/budgets", Some(&ada), Some(budget), &[])
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.body["name"], "Roads", "trimmed by the hook");
        assert_eq!(created.body["updated_by"], "ada");
        assert!(created.body["created_at"].is_string());

        let path = format!("/api/budgets/{}", created.body["id"]);
        let raise = json!({ "name": "Roads", "amount": 99.0, "fiscal_year": 2026, "status": "approved", "version": 1 });
        let refused = app.call("PUT", &path, Some(&ada), Some(raise), &[]).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert_eq!(refused.body["fields"][0]["field"], "amount");

        let refused = app.call("DELETE", &path, Some(&ada), None, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("approved")
        );
    });
}

#[test]
fn a_department_with_budgets_is_kept() {
    run(async {
        let app = TestApp::new(example_app::served()).await;
        let admin = app.admin();
        let ops = app
            .call(
                "POST",
                "/api/departments",
                Some(&admin),
                Some(json!({ "name": "Operations" })),
                &[],
            )
            .await;
        assert_eq!(ops.status, StatusCode::CREATED, "{}", ops.text);
        let id = ops.body["id"].as_i64().unwrap();
        let budget = json!({ "name": "Rent", "amount": 1.0, "fiscal_year": 2026, "status": "draft", "department": id });
        let created = app
            .call("POST", "/api/budgets", Some(&admin), Some(budget), &[])
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let refused = app
            .call(
                "DELETE",
                &format!("/api/departments/{id}"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("1 row of budgets")
        );
    });
}

#[test]
fn authors_are_private_to_who_added_them_and_an_administrator() {
    run(async {
        let app = TestApp::new(example_app::served()).await;
        let ada = app.token("ada", &[], &["authors"]);
        let bo = app.token("bo", &[], &["authors"]);
        let author = json!({ "displayName": "Ada Lovelace", "email": null, "bornOn": null });
        let created = app
            .call("POST", "/api/authors", Some(&ada), Some(author), &[])
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.body["addedBy"], "ada", "stamped");
        let path = format!("/api/authors/{}", created.body["id"]);
        for (token, status, total) in [
            (&ada, StatusCode::OK, 1),
            (&bo, StatusCode::NOT_FOUND, 0),
            (&app.admin(), StatusCode::OK, 1),
        ] {
            let one = app.call("GET", &path, Some(token), None, &[]).await;
            assert_eq!(one.status, status, "{}", one.text);
            let list = app
                .call("GET", "/api/authors", Some(token), None, &[])
                .await;
            assert_eq!(list.body["total"], total, "{}", list.text);
        }
    });
}
