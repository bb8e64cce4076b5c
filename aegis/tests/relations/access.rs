//! References and access: an answer names another module's rows only to
//! a user who may read them all, a reference points only at rows its user
//! may read, and a delete through references needs write on each module
//! it touches, runs their hooks and stays within `Limits::cascade_rows`.

use aegis::Api;
use aegis::protocol::EventAction;
use aegis::testing::TestApp;
use serde_json::json;

use super::client::Client;
use super::{Budget, Department, Line, Note, app, create, get, settings};

/// Lines over 100 are kept; a note's emptied budget is heard.
#[derive(Clone, Default)]
struct Guards {
    heard: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl aegis::hooks::CrudHooks<Line> for Guards {
    async fn before_delete(
        &self,
        _ctx: &mut aegis::hooks::HookContext<'_>,
        line: &Line,
    ) -> Result<(), aegis::Error> {
        if line.amount > 100.0 {
            return Err(aegis::Error::Forbidden(
                "a line over 100 is kept".to_owned(),
            ));
        }
        Ok(())
    }
}

impl aegis::hooks::CrudHooks<Note> for Guards {
    async fn before_update(
        &self,
        _ctx: &mut aegis::hooks::HookContext<'_>,
        before: &Note,
        after: &mut Note,
    ) -> Result<(), aegis::Error> {
        self.heard.lock().unwrap().push(format!(
            "{} {:?} -> {:?}",
            before.text, before.budget, after.budget
        ));
        Ok(())
    }

    async fn after_commit(&self, user: &str, action: EventAction, note: &Note) {
        self.heard
            .lock()
            .unwrap()
            .push(format!("{action:?} {} by {user}", note.text));
    }
}

/// Notes by `owner`: a user reads the ones whose text starts with their
/// name (a read filter on a field clients see).
#[derive(Clone, Default)]
struct OwnNotes;

impl aegis::hooks::CrudHooks<Note> for OwnNotes {
    fn read_filter(&self, user: &aegis::auth::User) -> Option<aegis::access::RowFilter> {
        (user.id() != "boss").then(|| aegis::access::RowFilter::equals("text", user.id()))
    }
}

async fn app_with(api: Api, limits: aegis::Limits) -> TestApp {
    TestApp::with_limits(api, limits).await
}

fn modules() -> Api {
    Api::new()
        .module::<Department>(settings("departments", false))
        .module::<Budget>(settings("budgets", true))
        .module::<Note>(settings("notes", false))
        .module::<Line>(settings("lines", false))
}

async fn delete(app: &TestApp, token: &str, path: &str) -> aegis::testing::Reply {
    app.call("DELETE", path, Some(token), None, &[]).await
}

/// A 409 or a 422 names another module's rows only to a user who may read
/// them all; what a reference may point at is what its user may read.
#[tokio::test]
async fn answers_name_other_rows_only_to_who_may_read_them() {
    let app = app().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    let path = format!("/api/departments/{works}");
    let keeper = app.token("keeper", &[], &["departments"]);
    let refused = delete(&app, &keeper, &path).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "department 1 is referenced by rows you cannot see; it cannot be deleted"
    );
    let reader = app.token("reader", &["budgets"], &["departments"]);
    let named = delete(&app, &reader, &path).await;
    assert_eq!(named.status, 409);
    assert!(
        named.body["message"]
            .as_str()
            .unwrap()
            .contains("1 row of budgets")
    );

    // A user who may not read departments cannot point at them, existing
    // or not: the same answer either way.
    let clerk = app.token("clerk", &[], &["budgets"]);
    for department in [works, 99] {
        let body = json!({ "name": "Parks", "department": department });
        let reply = app
            .call("POST", "/api/budgets", Some(&clerk), Some(body), &[])
            .await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(
            reply.body["fields"][0]["message"],
            "refers to departments, which you may not read"
        );
    }
    // Nor can a dry-run import tell which departments exist.
    let csv = format!("name,department\nA,{works}\nB,99\n");
    let request = aegis::axum::http::Request::post("/api/budgets/import?dryRun=true")
        .header("authorization", format!("Bearer {clerk}"))
        .header("content-type", "text/csv")
        .body(aegis::axum::body::Body::from(csv))
        .unwrap();
    let accepted = app.send(request).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let job = app
        .finished_job("budgets", accepted.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["failedRows"], 2, "{job}");
    let messages: Vec<&str> = job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["refers to departments, which you may not read"; 2]
    );
}

/// A note a user cannot read is, to that user, not there to point at.
#[tokio::test]
async fn a_reference_to_a_row_outside_the_read_filter_is_missing() {
    let app = TestApp::new(
        Api::new()
            .module::<Department>(settings("departments", false))
            .module::<Budget>(settings("budgets", true))
            .module::<Note>(settings("notes", false))
            .hooks::<Note>(OwnNotes)
            .module::<Line>(settings("lines", false)),
    )
    .await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let roads = create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    // Budgets reference no notes; notes reference budgets. A note's own
    // budget is checked against the budgets a user reads (all).
    let boss = app.token("boss", &[], &["*"]);
    let alice = app.token("alice", &[], &["*"]);
    let mine = json!({ "text": "alice", "budget": roads });
    let reply = app
        .call("POST", "/api/notes", Some(&alice), Some(mine), &[])
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // Deleting the budget empties notes: alice may, as she reads them all.
    let other = json!({ "text": "bob", "budget": roads });
    let reply = app
        .call("POST", "/api/notes", Some(&boss), Some(other), &[])
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let refused = delete(&app, &alice, &format!("/api/budgets/{roads}")).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "budget 1 is referenced by rows you cannot see; it cannot be deleted"
    );
    let notes = app.call("GET", "/api/notes", Some(&boss), None, &[]).await;
    assert_eq!(notes.body["total"], 2, "nothing changed");
    let still = notes.body["data"].as_array().unwrap();
    assert!(
        still.iter().all(|note| note["budget"] == roads),
        "{}",
        notes.text
    );
    let done = delete(&app, &boss, &format!("/api/budgets/{roads}")).await;
    assert_eq!(done.status, 204, "{}", done.text);
}

/// A row's panel of the rows referencing it (the view `budget.eq=<id>`
/// the generated front end reads) lists, counts, exports and hears only the
/// rows its user may read.
#[tokio::test]
async fn a_panel_of_referencing_rows_holds_only_what_its_user_may_read() {
    let app = TestApp::new(
        Api::new()
            .module::<Department>(settings("departments", false))
            .module::<Budget>(settings("budgets", true))
            .module::<Note>(settings("notes", false))
            .hooks::<Note>(OwnNotes)
            .module::<Line>(settings("lines", false)),
    )
    .await;
    let address = app.serve().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let [roads, parks] = [
        create(
            &app,
            "budgets",
            json!({ "name": "Roads", "department": works }),
        )
        .await,
        create(
            &app,
            "budgets",
            json!({ "name": "Parks", "department": works }),
        )
        .await,
    ];
    let alice = app.token("alice", &[], &["*"]);
    let boss = app.token("boss", &[], &["*"]);
    let mut heard = Client::authed(address, &alice).await;
    assert_eq!(heard.subscribe("notes", None).await["type"], "subscribed");
    for (who, budget) in [(&alice, roads), (&boss, roads), (&alice, parks)] {
        let text = if *who == alice { "alice" } else { "bob" };
        let body = json!({ "text": text, "budget": budget });
        let reply = app
            .call("POST", "/api/notes", Some(who), Some(body), &[])
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let panel = format!("/api/notes?budget.eq={roads}");
    let listed = app.call("GET", &panel, Some(&alice), None, &[]).await;
    assert_eq!(listed.body["total"], 1, "{}", listed.text);
    assert_eq!(listed.body["data"][0]["text"], "alice");
    let all = app.call("GET", &panel, Some(&boss), None, &[]).await;
    assert_eq!(all.body["total"], 2, "{}", all.text);
    let export = format!("/api/notes/export?budget.eq={roads}");
    let csv = app.call("GET", &export, Some(&alice), None, &[]).await;
    assert_eq!(
        csv.text.lines().count(),
        2,
        "a header and alice's note: {}",
        csv.text
    );
    // Of the three notes created, alice's connection heard of her two alone.
    for _ in 0..2 {
        let event = heard.frame().await;
        assert_eq!(event["data"]["text"], "alice", "{event}");
    }
    heard.send(json!({"type": "ping"})).await;
    assert_eq!(
        heard.frame().await,
        json!({"type": "pong"}),
        "bob's note is not heard"
    );
}

/// A cascade or an emptied reference changes another module's rows: it
/// needs write on that module, runs its hooks, and stays within the cap.
#[tokio::test]
async fn deletes_through_references_need_write_run_hooks_and_are_capped() {
    let guards = Guards::default();
    let app = app_with(
        modules()
            .hooks::<Line>(guards.clone())
            .hooks::<Note>(guards.clone()),
        aegis::Limits::default(),
    )
    .await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let roads = create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    for amount in [1.0, 2.0] {
        create(&app, "lines", json!({ "amount": amount, "budget": roads })).await;
    }
    create(&app, "notes", json!({ "text": "asphalt", "budget": roads })).await;
    let path = format!("/api/budgets/{roads}");

    // Write on budgets alone: the lines are not the user's to delete.
    let budgeteer = app.token("budgeteer", &["*"], &["budgets"]);
    let refused = delete(&app, &budgeteer, &path).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("which you may not change"),
        "{}",
        refused.text
    );
    // A line's hook refuses: the delete fails whole.
    let big = create(&app, "lines", json!({ "amount": 500.0, "budget": roads })).await;
    let refused = delete(&app, &app.admin(), &path).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["message"], "a line over 100 is kept");
    let reply = app
        .call(
            "DELETE",
            &format!("/api/lines/{big}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, 403, "the hook refuses it alone too");
    // Nothing changed: the lines, the note's budget, no update heard.
    assert_eq!(get(&app, "/api/lines").await.body["total"], 3);
    assert_eq!(
        get(&app, "/api/notes").await.body["data"][0]["budget"],
        roads
    );
    assert!(
        guards
            .heard
            .lock()
            .unwrap()
            .iter()
            .all(|h| !h.starts_with("Updated"))
    );
}

/// More rows than `Limits::cascade_rows` touched is a 409 naming the bound,
/// and the rows an emptied reference touches go through their hooks.
#[tokio::test]
async fn a_delete_past_the_cap_changes_nothing_and_one_within_runs_the_hooks() {
    let guards = Guards::default();
    let app = app_with(
        modules().hooks::<Note>(guards.clone()),
        aegis::Limits {
            cascade_rows: 2,
            ..aegis::Limits::default()
        },
    )
    .await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let roads = create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    for amount in [1.0, 2.0, 3.0] {
        create(&app, "lines", json!({ "amount": amount, "budget": roads })).await;
    }
    let path = format!("/api/budgets/{roads}");
    let capped = delete(&app, &app.admin(), &path).await;
    assert_eq!(capped.status, 409, "{}", capped.text);
    assert_eq!(
        capped.body["message"],
        "deleting budget 1 would change more than 2 rows of other modules, the most one delete \
         may; change or delete some of them first"
    );
    assert_eq!(get(&app, "/api/lines").await.body["total"], 3);

    let parks = create(
        &app,
        "budgets",
        json!({ "name": "Parks", "department": works }),
    )
    .await;
    create(&app, "notes", json!({ "text": "grass", "budget": parks })).await;
    let done = delete(&app, &app.admin(), &format!("/api/budgets/{parks}")).await;
    assert_eq!(done.status, 204, "{}", done.text);
    let heard = guards.heard.lock().unwrap().clone();
    assert_eq!(
        heard[heard.len() - 2..],
        [
            format!("grass Some({parks}) -> None"),
            "Updated grass by u1".to_owned()
        ]
    );
}
