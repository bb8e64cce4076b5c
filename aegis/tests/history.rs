//! Each row's history: an entry per change (creates, saves, deletes,
//! imports, cascades), written in the change's transaction and rolled back
//! with it, read a page at a time by whoever may read the row, kept apart
//! from the event log's retention; and restores of an older version
//! through the update path (rules, hooks, access, version check, event).
//! Runs on SQLite, and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

mod common;

use std::time::Duration;

use aegis::access::RowFilter;
use aegis::auth::User;
use aegis::hooks::{CrudHooks, HookContext};
use aegis::protocol::EventAction;
use aegis::testing::{Reply, TestApp};
use aegis::{Api, Error, Limits, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Contract {
    pub id: i64,
    #[crud(length(min = 2, max = 40))]
    pub title: String,
    pub amount: f64,
    /// Whose it is: the read filter's field.
    pub owner: String,
    pub note: Option<String>,
    /// Left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The server's own, never sent.
    #[crud(skip)]
    pub secret: String,
    #[crud(updated_by)]
    pub updated_by: Option<String>,
    pub version: i64,
}

const SETTINGS: ModuleSettings = ModuleSettings {
    module: "contracts",
    with_events: true,
    with_import: true,
    with_history: true,
    sortable: None,
};

/// A module that keeps no history (`history = false`).
#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Reading {
    pub id: i64,
    pub value: f64,
}

/// Ids that are no integers: an import keeps an entry per row.
#[crud_module(with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Memo {
    pub id: aegis::export::uuid::Uuid,
    pub text: String,
}

/// Each user reads their own contracts (`boss` reads all); titles are
/// trimmed; an amount over 1,000 is refused; a `FROZEN` contract is never
/// deleted.
struct Hooks;

impl CrudHooks<Contract> for Hooks {
    fn read_filter(&self, user: &User) -> Option<RowFilter> {
        (user.id() != "boss").then(|| RowFilter::equals("owner", user.id()))
    }

    async fn before_create(
        &self,
        _: &mut HookContext<'_>,
        row: &mut Contract,
    ) -> Result<(), Error> {
        row.secret = format!("s-{}", row.title);
        refuse_large(row)
    }

    async fn before_update(
        &self,
        _: &mut HookContext<'_>,
        _before: &Contract,
        after: &mut Contract,
    ) -> Result<(), Error> {
        after.title = after.title.trim().to_owned();
        refuse_large(after)
    }

    async fn before_delete(&self, _: &mut HookContext<'_>, row: &Contract) -> Result<(), Error> {
        if row.title == "FROZEN" {
            return Err(Error::Forbidden("this contract is frozen".to_owned()));
        }
        Ok(())
    }
}

fn refuse_large(row: &Contract) -> Result<(), Error> {
    if row.amount > 1000.0 {
        return Err(Error::field("amount", "is more than one may sign"));
    }
    Ok(())
}

async fn app_with(limits: Limits) -> TestApp {
    let readings = ModuleSettings {
        module: "readings",
        with_events: false,
        with_import: false,
        with_history: false,
        sortable: None,
    };
    let api = Api::new()
        .module::<Contract>(SETTINGS)
        .hooks::<Contract>(Hooks)
        .module::<Reading>(readings)
        .module::<Memo>(ModuleSettings {
            module: "memos",
            with_events: false,
            with_import: true,
            with_history: true,
            sortable: None,
        });
    TestApp::with_limits(api, limits).await
}

async fn app() -> TestApp {
    app_with(Limits::default()).await
}

fn token(app: &TestApp, user: &str) -> String {
    app.token(user, &[], &["contracts"])
}

async fn create(app: &TestApp, user: &str, title: &str, amount: f64) -> i64 {
    let body = json!({ "title": title, "amount": amount, "owner": user, "note": null });
    let reply = app
        .call(
            "POST",
            "/api/contracts",
            Some(&token(app, user)),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    reply.body["id"].as_i64().unwrap()
}

async fn save(app: &TestApp, user: &str, id: i64, changes: Value) -> Reply {
    let path = format!("/api/contracts/{id}");
    let current = app
        .call("GET", &path, Some(&token(app, "boss")), None, &[])
        .await;
    let mut body = current.body.clone();
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    app.call("PUT", &path, Some(&token(app, user)), Some(body), &[])
        .await
}

async fn history(app: &TestApp, user: &str, id: i64, query: &str) -> Reply {
    let path = format!("/api/contracts/{id}/history{query}");
    app.call("GET", &path, Some(&token(app, user)), None, &[])
        .await
}

/// The entries of a row, newest first, as the boss reads them.
async fn entries(app: &TestApp, id: i64) -> Vec<Value> {
    let reply = history(app, "boss", id, "?pageSize=200").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    reply.body["data"].as_array().unwrap().clone()
}

/// `[action, [field, old, new]...]` of each entry, newest first.
async fn summary(app: &TestApp, id: i64) -> Vec<Value> {
    entries(app, id)
        .await
        .iter()
        .map(|entry| {
            let changes = entry["changes"].as_array().unwrap();
            let changes = changes
                .iter()
                .map(|c| json!([c["field"], c["old"], c["new"]]));
            json!([entry["action"], changes.collect::<Vec<_>>()])
        })
        .collect()
}

async fn restore(app: &TestApp, user: &str, id: i64, entry: &Value, body: Option<Value>) -> Reply {
    let path = format!("/api/contracts/{id}/history/{}/restore", entry["id"]);
    app.call("POST", &path, Some(&token(app, user)), body, &[])
        .await
}

#[tokio::test]
async fn every_change_is_kept_with_who_when_and_what_it_set() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 100.0).await;
    assert_eq!(
        save(&app, "alice", id, json!({ "amount": 200.0 }))
            .await
            .status,
        200
    );
    let saved = save(
        &app,
        "boss",
        id,
        json!({ "note": "signed", "title": " Lease " }),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/contracts/{id}"),
            Some(&token(&app, "alice")),
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    // The id, version and stamps are the entry's own; the skipped field is
    // never shown; a hook's trim is what was saved.
    assert_eq!(
        summary(&app, id).await,
        vec![
            json!([
                "deleted",
                [
                    ["title", "Lease", null],
                    ["amount", 200.0, null],
                    ["owner", "alice", null],
                    ["note", "signed", null],
                    ["tag", null, null]
                ]
            ]),
            json!(["updated", [["note", null, "signed"]]]),
            json!(["updated", [["amount", 100.0, 200.0]]]),
            json!([
                "created",
                [
                    ["title", null, "Lease"],
                    ["amount", null, 100.0],
                    ["owner", null, "alice"],
                    ["note", null, null],
                    ["tag", null, null]
                ]
            ]),
        ]
    );
    let all = entries(&app, id).await;
    let users: Vec<&Value> = all.iter().map(|e| &e["userId"]).collect();
    assert_eq!(
        users,
        [
            &json!("alice"),
            &json!("boss"),
            &json!("alice"),
            &json!("alice")
        ]
    );
    let versions: Vec<&Value> = all.iter().map(|e| &e["version"]).collect();
    assert_eq!(versions, [&json!(3), &json!(3), &json!(2), &json!(1)]);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let at: chrono::DateTime<chrono::Utc> = serde_json::from_value(all[0]["at"].clone()).unwrap();
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 60);
    assert!(
        !all.iter().any(|e| e.to_string().contains("s-Lease")),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_history_is_paged_and_bounded() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 0.0).await;
    for amount in 1..=4 {
        save(&app, "alice", id, json!({ "amount": f64::from(amount) })).await;
    }
    let first = history(&app, "alice", id, "?page=1&pageSize=2").await;
    assert_eq!(first.body["total"], 5);
    assert_eq!(first.body["pageSize"], 2);
    let amounts = |reply: &Reply| -> Vec<Value> {
        let data = reply.body["data"].as_array().unwrap();
        data.iter()
            .map(|e| e["changes"][0]["new"].clone())
            .collect()
    };
    assert_eq!(amounts(&first), [json!(4.0), json!(3.0)]);
    let third = history(&app, "alice", id, "?page=3&pageSize=2").await;
    assert_eq!(third.body["data"][0]["action"], "created");
    assert_eq!(third.body["data"].as_array().unwrap().len(), 1);
    // A page is no larger than a list's.
    let huge = history(&app, "alice", id, "?pageSize=100000").await;
    assert_eq!(huge.body["pageSize"], 200);
    let typo = history(&app, "alice", id, "?size=2").await;
    assert_eq!(typo.status, 400, "{}", typo.text);
    assert_eq!(typo.body["code"], "bad_request");
}

#[tokio::test]
async fn a_history_is_read_like_its_row() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 10.0).await;
    let bob = history(&app, "bob", id, "").await;
    assert_eq!(bob.status, 404, "{}", bob.text);
    let none = history(&app, "alice", id + 100, "").await;
    assert_eq!(none.status, 404);
    assert_eq!(bob.body["code"], none.body["code"]);
    let reader = app.token("carol", &["contracts"], &[]);
    let path = format!("/api/contracts/{id}/history");
    let unauthorized = app.call("GET", &path, None, None, &[]).await;
    assert_eq!(unauthorized.status, 401);
    let other = app.token("dave", &["budgets"], &[]);
    assert_eq!(
        app.call("GET", &path, Some(&other), None, &[]).await.status,
        403
    );
    assert_eq!(
        app.call("GET", &path, Some(&reader), None, &[])
            .await
            .status,
        404
    );

    // Deleted, its history is read as its last version was.
    app.call(
        "DELETE",
        &format!("/api/contracts/{id}"),
        Some(&token(&app, "alice")),
        None,
        &[],
    )
    .await;
    let after = history(&app, "alice", id, "").await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["data"][0]["action"], "deleted");
    assert_eq!(history(&app, "bob", id, "").await.status, 404);
}

#[tokio::test]
async fn restoring_writes_an_old_version_back_as_a_new_change() {
    let app = app().await;
    let mut heard = app.events();
    let id = create(&app, "alice", "Lease", 100.0).await;
    save(
        &app,
        "alice",
        id,
        json!({ "amount": 200.0, "note": "draft" }),
    )
    .await;
    save(&app, "alice", id, json!({ "amount": 300.0, "note": null })).await;
    let all = entries(&app, id).await;
    let first_save = &all[1];
    assert_eq!(first_save["changes"][0]["new"], 200.0);

    let restored = restore(&app, "alice", id, first_save, Some(json!({ "version": 3 }))).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["amount"], 200.0);
    assert_eq!(restored.body["note"], "draft");
    assert_eq!(restored.body["version"], 4);
    assert_eq!(restored.body["updated_by"], "alice");

    let newest = &entries(&app, id).await[0];
    assert_eq!(newest["restores"], first_save["id"]);
    assert_eq!(newest["version"], 4);
    assert_eq!(
        newest["changes"],
        json!([
            { "field": "amount", "old": 300.0, "new": 200.0 },
            { "field": "note", "old": null, "new": "draft" },
        ])
    );
    // Published as any save is.
    let mut last = None;
    while let Ok(event) = heard.try_recv() {
        last = Some(event);
    }
    let last = last.expect("events");
    assert_eq!(last.message.action, EventAction::Updated);
    assert_eq!(last.message.data["amount"], 200.0);
    // The skipped field is the server's: a restore keeps it.
    let stored = app
        .call(
            "GET",
            &format!("/api/contracts/{id}"),
            Some(&token(&app, "alice")),
            None,
            &[],
        )
        .await;
    assert!(stored.body.get("secret").is_none());
}

#[tokio::test]
async fn a_restore_goes_through_the_version_check_rules_hooks_and_access() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 100.0).await;
    save(&app, "alice", id, json!({ "title": "L" })).await; // refused by the rule
    save(&app, "alice", id, json!({ "amount": 900.0 })).await;
    let all = entries(&app, id).await;
    assert_eq!(all.len(), 2, "a refused save leaves no entry: {all:?}");
    let created = &all[1];

    // Based on a version the row has left: 409 with the row as it is.
    let stale = restore(&app, "alice", id, created, Some(json!({ "version": 1 }))).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(stale.body["current"]["amount"], 900.0);
    // Without a version, based on the row's own.
    let ok = restore(&app, "alice", id, created, None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["amount"], 100.0);

    // Someone who may not read the row learns nothing of it or its entries.
    let bob = restore(&app, "bob", id, created, None).await;
    assert_eq!(bob.status, 404, "{}", bob.text);
    assert!(!bob.text.contains("history"), "{}", bob.text);
    let reader = app.token("alice", &["contracts"], &[]);
    let path = format!("/api/contracts/{id}/history/{}/restore", created["id"]);
    assert_eq!(
        app.call("POST", &path, Some(&reader), None, &[])
            .await
            .status,
        403
    );
    let missing = app
        .call(
            "POST",
            &format!("/api/contracts/{id}/history/999999/restore"),
            Some(&token(&app, "alice")),
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let junk = app
        .call(
            "POST",
            &format!("/api/contracts/{id}/history/x/restore"),
            Some(&token(&app, "alice")),
            None,
            &[],
        )
        .await;
    assert_eq!(junk.status, 404, "{}", junk.text);
    let other_row = create(&app, "alice", "Other", 1.0).await;
    let elsewhere = restore(&app, "alice", other_row, created, None).await;
    assert_eq!(
        elsewhere.status, 404,
        "an entry of another row: {}",
        elsewhere.text
    );
    let unknown = restore(&app, "alice", id, created, Some(json!({ "versoin": 1 }))).await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
}

#[tokio::test]
async fn a_restore_the_hooks_refuse_changes_nothing() {
    let app = app().await;
    let id = create(&app, "boss", "Lease", 100.0).await;
    // Written around the hooks (as data from before them would be).
    let state = json!({ "id": id, "title": "Lease", "amount": 5000.0, "owner": "boss", "note": null, "version": 1 });
    let sql = format!("UPDATE aegis_history SET state = '{state}' WHERE feature = 'contracts'");
    sqlx::query(&sql)
        .execute(app.aegis.db().pool())
        .await
        .unwrap();
    let created = entries(&app, id).await[0].clone();
    let refused = restore(&app, "boss", id, &created, None).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["fields"][0]["field"], "amount");
    assert_eq!(entries(&app, id).await.len(), 1, "nothing written");
}

#[tokio::test]
async fn entries_roll_back_with_their_change() {
    let app = app().await;
    let frozen = create(&app, "boss", "FROZEN", 1.0).await;
    let other = create(&app, "boss", "Lease", 1.0).await;
    // One transaction: the second delete's refusal undoes the first's
    // delete and its entry.
    let body = json!({ "ids": [other, frozen] });
    let refused = app
        .call(
            "POST",
            "/api/contracts/bulk-delete",
            Some(&token(&app, "boss")),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(summary(&app, other).await.len(), 1);

    // An import batch with a refused row is made again without it: each
    // imported row has one entry, the refused one none.
    // (`u1` is the importing admin.)
    let csv = "title,amount,owner,note\nA1,1,u1,\nA2,5000,u1,\nA3,3,u1,\n";
    let accepted = app.import("contracts", csv, false).await;
    let job = app
        .finished_job("contracts", accepted.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2, "{job}");
    let imported = "SELECT action FROM aegis_history WHERE user_id = 'u1'";
    let rows = sqlx::query(imported)
        .fetch_all(app.aegis.db().pool())
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "one entry for the batch, none for the refused try"
    );
}

/// An import batch keeps one entry for its rows; each row's history still
/// starts with its creation, as imported, however it changed since, and
/// that version can be restored.
#[tokio::test]
async fn an_imported_rows_history_starts_with_its_import() {
    let app = app().await;
    let csv = "title,amount,owner,note\nB1,1,u1,first\nB2,2,u1,\nB3,3,u1,\n";
    let accepted = app.import("contracts", csv, false).await;
    let job = app
        .finished_job("contracts", accepted.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 3, "{job}");
    let list = app
        .call(
            "GET",
            "/api/contracts?sort=title",
            Some(&token(&app, "boss")),
            None,
            &[],
        )
        .await;
    let ids: Vec<i64> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    save(
        &app,
        "boss",
        ids[0],
        json!({ "amount": 10.0, "note": null }),
    )
    .await;
    save(
        &app,
        "boss",
        ids[0],
        json!({ "amount": 20.0, "title": "B1b" }),
    )
    .await;

    assert_eq!(
        summary(&app, ids[0]).await,
        vec![
            json!(["updated", [["title", "B1", "B1b"], ["amount", 10.0, 20.0]]]),
            json!(["updated", [["amount", 1.0, 10.0], ["note", "first", null]]]),
            json!([
                "created",
                [
                    ["title", null, "B1"],
                    ["amount", null, 1.0],
                    ["owner", null, "u1"],
                    ["note", null, "first"],
                    ["tag", null, null]
                ]
            ]),
        ]
    );
    let all = entries(&app, ids[0]).await;
    assert_eq!(
        (&all[2]["userId"], &all[2]["version"]),
        (&json!("u1"), &json!(1))
    );
    assert_eq!(summary(&app, ids[2]).await.len(), 1);
    // Paged as the others: the batch's entry is the oldest, on the last page.
    let last = history(&app, "boss", ids[0], "?page=2&pageSize=2").await;
    assert_eq!(last.body["total"], 3);
    assert_eq!(last.body["data"][0]["action"], "created");
    assert_eq!(last.body["data"].as_array().unwrap().len(), 1);
    let first = history(&app, "boss", ids[0], "?page=1&pageSize=2").await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 2);

    let restored = restore(&app, "boss", ids[0], &all[2], None).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(
        (
            &restored.body["title"],
            &restored.body["amount"],
            &restored.body["note"]
        ),
        (&json!("B1"), &json!(1.0), &json!("first"))
    );
    // The batch's entry is no other row's.
    let elsewhere = create(&app, "boss", "Other", 1.0).await;
    assert_eq!(
        restore(&app, "boss", elsewhere, &all[2], None).await.status,
        404
    );
    // Deleted, its history still starts with the import.
    app.call(
        "DELETE",
        &format!("/api/contracts/{}", ids[1]),
        Some(&token(&app, "boss")),
        None,
        &[],
    )
    .await;
    let gone = summary(&app, ids[1]).await;
    assert_eq!(gone.len(), 2);
    assert_eq!(gone[1][0], "created");
}

#[tokio::test]
async fn the_event_logs_retention_does_not_cut_history_its_own_does() {
    let limits = Limits {
        event_retention: Some(2),
        prune_interval: Duration::from_secs(3600),
        ..Limits::default()
    };
    let app = app_with(limits).await;
    let id = create(&app, "alice", "Lease", 0.0).await;
    for amount in 1..=5 {
        save(&app, "alice", id, json!({ "amount": f64::from(amount) })).await;
    }
    let pruned = app.aegis.prune().await.unwrap();
    assert_eq!(pruned.events, 4);
    assert_eq!(pruned.history, 0, "kept by default");
    assert_eq!(entries(&app, id).await.len(), 6);

    let aged = Limits {
        history_max_age: Some(Duration::from_secs(3600)),
        prune_batch: 4,
        ..limits
    };
    let now = chrono::Utc::now();
    let db = app.aegis.db();
    let young = aegis::retention::prune(db, &aged, now).await.unwrap();
    assert_eq!(young.history, 0, "younger than an hour");
    let later = now + chrono::Duration::hours(2);
    let old = aegis::retention::prune(db, &aged, later).await.unwrap();
    assert_eq!(old.history, 6);
    assert!(entries(&app, id).await.is_empty());
}

#[tokio::test]
async fn a_module_may_keep_no_history() {
    let app = app().await;
    let admin = app.admin();
    let made = app
        .call(
            "POST",
            "/api/readings",
            Some(&admin),
            Some(json!({ "value": 1.5 })),
            &[],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let path = format!("/api/readings/{}", made.body["id"]);
    let saved = app
        .call(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "value": 2.5 })),
            &[],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let history = app
        .call("GET", &format!("{path}/history"), Some(&admin), None, &[])
        .await;
    assert_eq!(history.status, 404, "{}", history.text);
    assert_eq!(history.body["code"], "not_found");
    let kept = "SELECT COUNT(*) FROM aegis_history WHERE feature = 'readings'";
    let count: i64 = sqlx::query_scalar(kept)
        .fetch_one(app.aegis.db().pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn imported_rows_without_integer_ids_have_an_entry_each() {
    let app = app().await;
    let accepted = app.import("memos", "text\nfirst\nsecond\n", false).await;
    let job = app
        .finished_job("memos", accepted.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2, "{job}");
    let admin = app.admin();
    let list = app.call("GET", "/api/memos", Some(&admin), None, &[]).await;
    for memo in list.body["data"].as_array().unwrap() {
        let path = format!("/api/memos/{}/history", memo["id"].as_str().unwrap());
        let reply = app.call("GET", &path, Some(&admin), None, &[]).await;
        assert_eq!(reply.body["total"], 1, "{}", reply.text);
        let change = &reply.body["data"][0]["changes"][0];
        assert_eq!(
            (&change["field"], &change["new"]),
            (&json!("text"), &memo["text"])
        );
    }
}

/// A field serde leaves out when empty still changes: emptied, it is a
/// change to `null`, and a version where it was empty restores as empty.
#[tokio::test]
async fn a_field_left_out_when_empty_is_kept_too() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 1.0).await;
    let tagged = save(&app, "alice", id, json!({ "tag": "urgent" })).await;
    assert_eq!(tagged.body["tag"], "urgent");
    let mut body = tagged.body.clone();
    body.as_object_mut().unwrap().remove("tag");
    let path = format!("/api/contracts/{id}");
    let untagged = app
        .call("PUT", &path, Some(&token(&app, "alice")), Some(body), &[])
        .await;
    assert_eq!(untagged.status, 200, "{}", untagged.text);
    assert!(untagged.body.get("tag").is_none());
    let all = summary(&app, id).await;
    assert_eq!(all[0], json!(["updated", [["tag", "urgent", null]]]));
    assert_eq!(all[1], json!(["updated", [["tag", null, "urgent"]]]));

    let tagged_version = &entries(&app, id).await[1];
    let restored = restore(&app, "alice", id, tagged_version, None).await;
    assert_eq!(restored.body["tag"], "urgent");
    let created = entries(&app, id).await.last().unwrap().clone();
    let restored = restore(&app, "alice", id, &created, None).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert!(restored.body.get("tag").is_none(), "{}", restored.text);
}

/// A row moved from one reader to another: the new one learns that it
/// changed before, not what it held while it was someone else's, and
/// cannot write such a version back.
#[tokio::test]
async fn versions_a_reader_may_not_read_are_withheld() {
    let app = app().await;
    let id = create(&app, "alice", "Lease", 1.0).await;
    save(&app, "alice", id, json!({ "note": "alice's terms" })).await;
    save(&app, "boss", id, json!({ "owner": "bob", "note": null })).await;
    save(&app, "bob", id, json!({ "amount": 2.0 })).await;

    let reply = history(&app, "bob", id, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let shown: Vec<(Value, Value, usize)> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].clone(),
                e["withheld"].clone(),
                e["changes"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (json!("updated"), Value::Null, 1),
            (json!("updated"), json!(true), 0),
            (json!("updated"), json!(true), 0),
            (json!("created"), json!(true), 0),
        ]
    );
    assert!(!reply.text.contains("alice's terms"), "{}", reply.text);
    let boss = entries(&app, id).await;
    assert!(boss.iter().all(|e| e.get("withheld").is_none()), "{boss:?}");
    let created = boss.last().unwrap();
    let refused = restore(&app, "bob", id, created, None).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
}
