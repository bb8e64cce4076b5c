//! REST CRUD through the real router, with its events.

mod common;

use aegis::axum::http::StatusCode;
use aegis::protocol::{EventAction, FEATURE_VERSION};
use common::*;
use serde_json::json;
use tokio::sync::broadcast::error::TryRecvError;

#[tokio::test]
async fn create_read_update_delete_with_exact_events() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    let token = app.admin();

    let created = app
        .call(
            "POST",
            "/api/budgets",
            Some(&token),
            Some(budget("Q1", 10.5)),
            &[("x-aegis-mutation-id", "m-1")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        created.body,
        json!({"id": 1, "name": "Q1", "amount": 10.5, "year": 2026, "approved": false, "note": null, "version": 1})
    );
    let event = events.try_recv().unwrap();
    assert_eq!(event.message.feature, "budgets");
    assert_eq!(event.message.entity, "budget");
    assert_eq!(event.message.action, EventAction::Created);
    assert_eq!(event.message.data, created.body);
    assert_eq!(event.message.meta.seq, 1);
    assert_eq!(event.message.meta.user_id, "u1");
    assert_eq!(event.message.meta.origin.as_deref(), Some("m-1"));
    assert_eq!(event.message.meta.feature_version, FEATURE_VERSION);
    // The frame is the wire form of the same event.
    let frame: serde_json::Value = serde_json::from_str(&event.frame).unwrap();
    assert_eq!(frame["type"], "event");
    assert_eq!(frame["meta"]["seq"], 1);

    let read = app
        .call("GET", "/api/budgets/1", Some(&token), None, &[])
        .await;
    assert_eq!((read.status, &read.body), (StatusCode::OK, &created.body));

    let mut changed = budget("Q1 revised", 12.0);
    changed["version"] = json!(1);
    let updated = app
        .call("PUT", "/api/budgets/1", Some(&token), Some(changed), &[])
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["name"], "Q1 revised");
    let event = events.try_recv().unwrap();
    assert_eq!(event.message.action, EventAction::Updated);
    assert_eq!(event.message.data, updated.body);
    assert_eq!(event.message.meta.seq, 2);
    assert_eq!(event.message.meta.origin, None);

    let deleted = app
        .call("DELETE", "/api/budgets/1", Some(&token), None, &[])
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let event = events.try_recv().unwrap();
    assert_eq!(event.message.action, EventAction::Deleted);
    assert_eq!(event.message.data, json!({"id": 1}));
    assert_eq!(event.message.meta.seq, 3);
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));

    assert_eq!(
        app.call("GET", "/api/budgets/1", Some(&token), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("DELETE", "/api/budgets/1", Some(&token), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The log holds the same three events, in order, for replay.
    let log = aegis::log::replay(app.aegis.db(), "budgets", 0, 100)
        .await
        .unwrap();
    let seqs: Vec<u64> = log.iter().map(|e| e.seq()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(log[1].message.data["name"], "Q1 revised");
}

#[tokio::test]
async fn seq_is_plus_one_per_feature() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    for n in 0..10 {
        let reply = app
            .call(
                "POST",
                "/api/budgets",
                Some(&app.admin()),
                Some(budget(&format!("b{n}"), 1.0)),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        // A module without events advances no seq and publishes nothing.
        let note = app
            .call(
                "POST",
                "/api/notes",
                Some(&app.admin()),
                Some(json!({"text": "n"})),
                &[],
            )
            .await;
        assert_eq!(note.status, StatusCode::CREATED);
    }
    let seqs: Vec<u64> = (0..10).map(|_| events.try_recv().unwrap().seq()).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));
    let list = app
        .call("GET", "/api/budgets", Some(&app.admin()), None, &[])
        .await;
    assert_eq!(list.body["seq"], 10);
    let notes = app
        .call("GET", "/api/notes", Some(&app.admin()), None, &[])
        .await;
    assert_eq!(notes.body["seq"], 0);
    assert_eq!(notes.body["total"], 10);
    // A uuid id round-trips through the path.
    let id = notes.body["data"][0]["id"].as_str().unwrap().to_owned();
    let one = app
        .call(
            "GET",
            &format!("/api/notes/{id}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(one.body["text"], "n");
}

#[tokio::test]
async fn stale_version_is_409_with_the_current_row_and_no_event() {
    let app = app().await;
    app.call(
        "POST",
        "/api/budgets",
        Some(&app.admin()),
        Some(budget("Q1", 1.0)),
        &[],
    )
    .await;
    let mut first = budget("mine", 2.0);
    first["version"] = json!(1);
    assert_eq!(
        app.call(
            "PUT",
            "/api/budgets/1",
            Some(&app.admin()),
            Some(first.clone()),
            &[]
        )
        .await
        .status,
        StatusCode::OK
    );
    let mut events = app.aegis.bus().subscribe();
    let mut stale = budget("theirs", 3.0);
    stale["version"] = json!(1);
    let reply = app
        .call(
            "PUT",
            "/api/budgets/1",
            Some(&app.admin()),
            Some(stale),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["code"], "conflict");
    assert_eq!(reply.body["current"]["name"], "mine");
    assert_eq!(reply.body["current"]["version"], 2);
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));
    let row = app
        .call("GET", "/api/budgets/1", Some(&app.admin()), None, &[])
        .await;
    assert_eq!(row.body["name"], "mine");
    assert_eq!(
        app.call("GET", "/api/budgets", Some(&app.admin()), None, &[])
            .await
            .body["seq"],
        2
    );
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    let cases = [
        (
            json!({"name": "Q1", "amount": "ten", "year": 2026, "approved": false}),
            "amount",
        ),
        // A missing field is named too, not left to the message.
        (
            json!({"amount": 1.0, "year": 2026, "approved": false}),
            "name",
        ),
        (
            json!({"name": 5, "amount": 1.0, "year": 2026, "approved": false}),
            "name",
        ),
        (
            json!({"name": "Q1", "amount": 1.0, "year": 2026.5, "approved": false}),
            "year",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .call("POST", "/api/budgets", Some(&app.admin()), Some(body), &[])
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        assert_eq!(reply.body["code"], "unprocessable");
        assert_eq!(reply.body["fields"][0]["field"], field, "{}", reply.text);
    }
    let missing = app
        .call(
            "POST",
            "/api/budgets",
            Some(&app.admin()),
            Some(json!({"amount": 1.0, "year": 2026, "approved": false})),
            &[],
        )
        .await;
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("missing field `name`")
    );
    let not_json = app
        .send(
            aegis::axum::http::Request::post("/api/budgets")
                .header("authorization", format!("Bearer {}", app.admin()))
                .body(aegis::axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    let update_without_version = app
        .call(
            "PUT",
            "/api/budgets/1",
            Some(&app.admin()),
            Some(budget("x", 1.0)),
            &[],
        )
        .await;
    assert_eq!(
        update_without_version.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));
    assert_eq!(
        app.call("GET", "/api/budgets", Some(&app.admin()), None, &[])
            .await
            .body["total"],
        0
    );
}

#[tokio::test]
async fn auth_is_401_then_403_with_a_json_body() {
    let app = app().await;
    let missing = app.call("GET", "/api/budgets", None, None, &[]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["code"], "unauthorized");
    let forged = aegis::auth::Auth::new(b"another secret")
        .issue(&aegis::auth::Claims::new("u1", 600, &["*"], &["*"]))
        .unwrap();
    assert_eq!(
        app.call("GET", "/api/budgets", Some(&forged), None, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let mut expired_claims = aegis::auth::Claims::new("u1", 0, &["*"], &[]);
    expired_claims.exp -= 10;
    let expired = aegis::auth::Auth::new(SECRET)
        .issue(&expired_claims)
        .unwrap();
    let reply = app
        .call("GET", "/api/budgets", Some(&expired), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body["message"].as_str().unwrap().contains("expired"));

    let reader = app.token("u2", &["budgets"], &[]);
    assert_eq!(
        app.call("GET", "/api/budgets", Some(&reader), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let write = app
        .call(
            "POST",
            "/api/budgets",
            Some(&reader),
            Some(budget("x", 1.0)),
            &[],
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(write.body["code"], "forbidden");
    let stranger = app.token("u3", &["notes"], &["notes"]);
    assert_eq!(
        app.call("GET", "/api/budgets", Some(&stranger), None, &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/budgets/import/template",
            Some(&stranger),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_rolled_back_change_has_no_event() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    let entity = Budget {
        id: 7,
        name: "x".into(),
        amount: 1.0,
        year: 2026,
        approved: true,
        note: None,
        version: 1,
    };
    {
        let mut change = app.aegis.change().await.unwrap();
        let seq = change
            .entity_event(EventAction::Created, &entity, "u1", None)
            .await
            .unwrap();
        assert_eq!(seq, 1);
        // Dropped without commit: rolled back.
    }
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));
    assert!(
        aegis::log::replay(app.aegis.db(), "budgets", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The seq it took is free again: the next committed event is 1.
    let mut change = app.aegis.change().await.unwrap();
    change
        .entity_event(EventAction::Created, &entity, "u1", None)
        .await
        .unwrap();
    change.commit().await.unwrap();
    assert_eq!(events.try_recv().unwrap().seq(), 1);
}

#[tokio::test]
async fn list_pages_sorts_and_searches() {
    let app = app().await;
    for (name, amount) in [
        ("Rent", 5.0),
        ("Travel", 1.0),
        ("Training", 3.0),
        ("Food", 4.0),
        ("Tools", 2.0),
    ] {
        app.call(
            "POST",
            "/api/budgets",
            Some(&app.admin()),
            Some(budget(name, amount)),
            &[],
        )
        .await;
    }
    let page = app
        .call(
            "GET",
            "/api/budgets?page=2&pageSize=2&sort=-amount",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let names: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Training", "Tools"]);
    assert_eq!(
        (
            page.body["total"].clone(),
            page.body["page"].clone(),
            page.body["pageSize"].clone()
        ),
        (json!(5), json!(2), json!(2))
    );
    let found = app
        .call(
            "GET",
            "/api/budgets?q=TR&sort=name",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    let names: Vec<&str> = found.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Training", "Travel"]);
    assert_eq!(found.body["total"], 2);
    let bad = app
        .call(
            "GET",
            "/api/budgets?sort=secret",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot sort budgets by `secret`")
    );
}

/// A list's count and page are read in one snapshot: a commit made
/// between them is seen by neither, and the snapshot writes nothing. On
/// PostgreSQL when the tests have one, else on a SQLite file (its readers
/// are connections of their own, as in production).
#[tokio::test]
async fn a_snapshot_sees_one_state_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = match aegis::testing::fresh_postgres_database().await {
        Some(url) => aegis::store::Db::connect(&url).await.unwrap(),
        None => {
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
            aegis::store::Db::connect(&url).await.unwrap()
        }
    };
    let execute = |sql: &'static str| sqlx::query(sql).execute(db.pool());
    execute("CREATE TABLE snapshot_rows (n INTEGER)")
        .await
        .unwrap();
    execute("INSERT INTO snapshot_rows VALUES (1)")
        .await
        .unwrap();
    let count = "SELECT COUNT(*) FROM snapshot_rows";

    let mut snapshot = db.begin_snapshot().await.unwrap();
    let before: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut *snapshot)
        .await
        .unwrap();
    execute("INSERT INTO snapshot_rows VALUES (2)")
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut *snapshot)
        .await
        .unwrap();
    assert_eq!((before, after), (1, 1), "a commit showed in the snapshot");
    let write = sqlx::query("INSERT INTO snapshot_rows VALUES (3)")
        .execute(&mut *snapshot)
        .await;
    assert!(write.is_err(), "the snapshot wrote a row");
    drop(snapshot);
    let outside: i64 = sqlx::query_scalar(count)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(outside, 2);
}

/// A whole number written with a fraction is a whole number, as JSON
/// Schema (the OpenAPI document) and JavaScript count it: in a create
/// and in a bulk delete's ids.
#[tokio::test]
async fn a_whole_number_with_a_fraction_is_a_whole_number() {
    let app = app().await;
    let whole = json!({"name": "Q2", "amount": 3, "year": 2026.0, "approved": false});
    let created = app
        .call("POST", "/api/budgets", Some(&app.admin()), Some(whole), &[])
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        (created.body["year"].clone(), created.body["amount"].clone()),
        (json!(2026), json!(3.0))
    );
    let ids = json!({ "ids": [created.body["id"].as_f64().unwrap()] });
    let deleted = app
        .call(
            "POST",
            "/api/budgets/bulk-delete",
            Some(&app.admin()),
            Some(ids),
            &[],
        )
        .await;
    assert_eq!(deleted.body["deleted"], 1, "{}", deleted.text);
}
