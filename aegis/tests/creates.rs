//! Concurrent REST creates of one module are written together, in one
//! transaction, and each keeps what it has alone: its answer, its hooks,
//! its event (gap-free, in order, with its user and origin), its own
//! error; a batch one create refuses is made again without it (after a
//! second refusal, one create at a time), keeping nothing the refused
//! one's hook wrote. Runs on SQLite, and on PostgreSQL with
//! `AEGIS_TEST_DATABASE_URL`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aegis::hooks::{CrudHooks, HookContext};
use aegis::protocol::EventAction;
use aegis::testing::{Reply, TestApp};
use aegis::{Api, Error, ModuleSettings, crud_module};
use common::{audit, audit_notes, create_audit_table};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Ticket {
    pub id: i64,
    pub title: String,
    pub seats: i32,
    #[crud(created_by)]
    pub created_by: String,
    pub version: i64,
}

const SETTINGS: ModuleSettings = ModuleSettings {
    module: "tickets",
    with_events: true,
    with_import: false,
    with_history: true,
    sortable: None,
};

/// An audit row per create, written in its transaction; more than 8
/// seats refused after that write; every call and commit counted.
#[derive(Clone, Default)]
struct TicketHooks {
    before: Arc<AtomicUsize>,
    committed: Arc<AtomicUsize>,
}

impl CrudHooks<Ticket> for TicketHooks {
    async fn before_create(
        &self,
        ctx: &mut HookContext<'_>,
        ticket: &mut Ticket,
    ) -> Result<(), Error> {
        self.before.fetch_add(1, Ordering::SeqCst);
        let note = format!("{} by {}", ticket.title, ctx.user());
        audit(ctx, note).await?;
        if ticket.seats > 8 {
            return Err(Error::field("seats", "is more than a table has"));
        }
        Ok(())
    }

    async fn after_commit(&self, _user: &str, action: EventAction, _ticket: &Ticket) {
        assert_eq!(action, EventAction::Created);
        self.committed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn app(hooks: TicketHooks) -> TestApp {
    let api = Api::new().module::<Ticket>(SETTINGS).hooks::<Ticket>(hooks);
    let app = TestApp::new(api).await;
    create_audit_table(&app).await;
    app
}

/// `count` creates sent at once: ticket `<prefix><n>` by alice or bob in
/// turn, with mutation id `m<n>`, `seats(n)` seats.
async fn at_once(
    app: &TestApp,
    prefix: &str,
    count: usize,
    seats: impl Fn(usize) -> i32,
) -> Vec<Reply> {
    let tokens = [
        app.token("alice", &[], &["tickets"]),
        app.token("bob", &[], &["tickets"]),
    ];
    let creates = (0..count).map(|n| {
        let body = json!({ "title": format!("{prefix}{n:02}"), "seats": seats(n) });
        let origin = format!("m{n}");
        let token = &tokens[n % 2];
        async move {
            app.call(
                "POST",
                "/api/tickets",
                Some(token),
                Some(body),
                &[(aegis::protocol::MUTATION_ID_HEADER, &origin)],
            )
            .await
        }
    });
    join_all(creates).await
}

/// The metrics' count of tickets created `written` (`together` or `alone`).
fn created(app: &TestApp, written: &str) -> f64 {
    let series = format!("aegis_creates_total{{feature=\"tickets\",written=\"{written}\"}} ");
    app.aegis
        .metrics()
        .lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map_or(0.0, |value| value.parse().unwrap())
}

#[tokio::test]
async fn creates_at_once_are_written_together_each_as_it_would_be_alone() {
    aegis::metrics::install();
    let hooks = TicketHooks::default();
    let app = app(hooks.clone()).await;
    let mut bus = app.events();

    // Forty at once: one batch, every create answered with its own row.
    let replies = at_once(&app, "A", 40, |_| 2).await;
    let mut answered = BTreeMap::new();
    for (n, reply) in replies.iter().enumerate() {
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        assert_eq!(reply.body["title"], format!("A{n:02}"));
        let user = if n % 2 == 0 { "alice" } else { "bob" };
        assert_eq!(reply.body["created_by"], user);
        let id = reply.body["id"].as_i64().unwrap();
        assert!(
            answered.insert(id, (n, reply.body.clone())).is_none(),
            "id {id} twice"
        );
    }
    let ids: Vec<i64> = answered.keys().copied().collect();
    assert_eq!(ids, (1..=40).collect::<Vec<_>>());
    assert_eq!(created(&app, "together"), 40.0, "one batch of forty");
    assert_eq!(created(&app, "alone"), 0.0);
    assert_eq!(hooks.before.load(Ordering::SeqCst), 40);
    assert_eq!(hooks.committed.load(Ordering::SeqCst), 40);
    assert_eq!(audit_notes(&app).await.len(), 40);

    // Their events: seqs 1..=40 in order, each the row it answered, with
    // its creator and its request's mutation id.
    for seq in 1..=40 {
        let event = bus.try_recv().expect("an event per create");
        assert_eq!(event.seq(), seq);
        let message = &event.message;
        assert_eq!(message.action, EventAction::Created);
        let (n, body) = &answered[&message.data["id"].as_i64().unwrap()];
        assert_eq!(&message.data, body);
        assert_eq!(message.meta.user_id, body["created_by"].as_str().unwrap());
        assert_eq!(
            message.meta.origin.as_deref(),
            Some(format!("m{n}").as_str())
        );
    }
    assert!(bus.try_recv().is_err(), "no other event");
    // In arrival order.
    let order: Vec<usize> = answered.values().map(|(n, _)| *n).collect();
    assert_eq!(order, (0..40).collect::<Vec<_>>());

    // Ten at once, the fifth refused by its hook after its audit row: the
    // batch is rolled back, the fifth made alone (refused), the nine
    // others together again.
    let replies = at_once(&app, "B", 10, |n| if n == 4 { 9 } else { 1 }).await;
    for (n, reply) in replies.iter().enumerate() {
        if n == 4 {
            assert_eq!(reply.status.as_u16(), 422, "{}", reply.text);
            assert_eq!(reply.body["fields"][0]["field"], "seats");
            assert_eq!(
                reply.body["fields"][0]["message"],
                "is more than a table has"
            );
        } else {
            assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        }
    }
    assert_eq!(created(&app, "together"), 49.0);
    assert_eq!(created(&app, "alone"), 0.0);
    // The batch's hooks ran up to the refusal (five), then the refused
    // create's alone, then the nine's: what ran first was rolled back.
    assert_eq!(hooks.before.load(Ordering::SeqCst), 40 + 5 + 1 + 9);
    assert_eq!(hooks.committed.load(Ordering::SeqCst), 49);
    let notes = audit_notes(&app).await;
    assert_eq!(notes.len(), 49, "{notes:?}");
    assert!(!notes.iter().any(|note| note.starts_with("B04 ")));
    for n in (0..10).filter(|n| *n != 4) {
        let note = format!("B{n:02} by {}", if n % 2 == 0 { "alice" } else { "bob" });
        assert_eq!(
            notes.iter().filter(|seen| **seen == note).count(),
            1,
            "{note}"
        );
    }
    // Nine events, gap-free after the forty; the ids the batch took went
    // back with it.
    let mut ids = Vec::new();
    for seq in 41..=49 {
        let event = bus.try_recv().expect("an event per made create");
        assert_eq!(event.seq(), seq);
        ids.push(event.message.data["id"].as_i64().unwrap());
    }
    assert_eq!(ids, (41..=49).collect::<Vec<_>>());
    assert!(bus.try_recv().is_err(), "nothing of the refused create");
    let list: Value = app
        .call(
            "GET",
            "/api/tickets?pageSize=100",
            Some(&app.admin()),
            None,
            &[],
        )
        .await
        .body;
    assert_eq!(list["total"], 49);
    assert_eq!(list["seq"], 49);

    // Two refused in one batch (the fourth and the eighth): one more try
    // without the first, then each create alone.
    let replies = at_once(&app, "C", 10, |n| if n == 3 || n == 7 { 9 } else { 1 }).await;
    for (n, reply) in replies.iter().enumerate() {
        let status = if n == 3 || n == 7 { 422 } else { 201 };
        assert_eq!(reply.status.as_u16(), status, "{n}: {}", reply.text);
    }
    assert_eq!(created(&app, "together"), 49.0);
    assert_eq!(created(&app, "alone"), 8.0);
    // Four, the fourth alone, seven of the nine, the eighth alone, eight.
    assert_eq!(hooks.before.load(Ordering::SeqCst), 55 + 4 + 1 + 7 + 1 + 8);
    assert_eq!(hooks.committed.load(Ordering::SeqCst), 57);
    let notes = audit_notes(&app).await;
    let c_notes: Vec<&String> = notes.iter().filter(|note| note.starts_with('C')).collect();
    let expected: Vec<String> = [0, 1, 2, 4, 5, 6, 8, 9]
        .iter()
        .map(|n| format!("C{n:02} by {}", if n % 2 == 0 { "alice" } else { "bob" }))
        .collect();
    assert_eq!(c_notes, expected.iter().collect::<Vec<_>>());
    for seq in 50..=57 {
        let event = bus.try_recv().expect("an event per made create");
        assert_eq!(
            (event.seq(), event.message.data["id"].as_u64()),
            (seq, Some(seq))
        );
    }
    assert!(bus.try_recv().is_err());
}

/// Ids that are not integers: a batch takes its seqs at its events.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Pass {
    pub id: aegis::export::uuid::Uuid,
    pub holder: String,
    pub version: i64,
}

#[tokio::test]
async fn creates_of_a_module_with_uuid_ids_are_written_together_too() {
    aegis::metrics::install();
    let settings = ModuleSettings {
        module: "passes",
        with_events: true,
        with_import: false,
        with_history: true,
        sortable: None,
    };
    let app = TestApp::new(Api::new().module::<Pass>(settings)).await;
    let mut bus = app.events();
    let admin = app.admin();
    let creates = (0..12).map(|n| {
        let body = json!({ "holder": format!("H{n}") });
        app.call("POST", "/api/passes", Some(&admin), Some(body), &[])
    });
    let replies = join_all(creates).await;
    let mut answered = BTreeMap::new();
    for (n, reply) in replies.into_iter().enumerate() {
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        assert_eq!(reply.body["holder"], format!("H{n}"));
        let id = reply.body["id"].as_str().unwrap().to_owned();
        assert!(answered.insert(id, reply.body).is_none());
    }
    let series = "aegis_creates_total{feature=\"passes\",written=\"together\"} 12";
    assert!(app.aegis.metrics().lines().any(|line| line == series));
    for seq in 1..=12 {
        let event = bus.try_recv().expect("an event per create");
        assert_eq!(event.seq(), seq);
        let id = event.message.data["id"].as_str().unwrap();
        assert_eq!(event.message.data, answered[id]);
    }
    assert!(bus.try_recv().is_err());

    // A client that goes away once its create is queued (the first: the one
    // that started the batch): its batch, and
    // the creates queued with it, are written all the same.
    let creates = (0..5).map(|n| {
        let body = json!({ "holder": format!("G{n}") });
        let call = app.call("POST", "/api/passes", Some(&admin), Some(body), &[]);
        async move {
            if n == 0 {
                // Polled once (the create is queued), then dropped.
                let gone = futures_util::FutureExt::now_or_never(call);
                assert!(gone.is_none(), "the client left before its answer");
                None
            } else {
                Some(call.await)
            }
        }
    });
    for reply in join_all(creates).await.into_iter().flatten() {
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
    let mut holders = Vec::new();
    for seq in 13..=17 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), bus.recv())
            .await
            .expect("every queued create is written")
            .unwrap();
        assert_eq!(event.seq(), seq);
        holders.push(event.message.data["holder"].as_str().unwrap().to_owned());
    }
    holders.sort();
    assert_eq!(holders, ["G0", "G1", "G2", "G3", "G4"]);
}

/// A hook that panics on one name.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Badge {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

struct BadgeHooks;

impl CrudHooks<Badge> for BadgeHooks {
    async fn before_create(
        &self,
        _ctx: &mut HookContext<'_>,
        badge: &mut Badge,
    ) -> Result<(), Error> {
        assert_ne!(badge.name, "PANIC", "a hook's bug");
        Ok(())
    }
}

#[tokio::test]
async fn a_hook_that_panics_fails_its_own_create_only() {
    let settings = ModuleSettings {
        module: "badges",
        with_events: true,
        with_import: false,
        with_history: true,
        sortable: None,
    };
    let api = Api::new()
        .module::<Badge>(settings)
        .hooks::<Badge>(BadgeHooks);
    let app = TestApp::new(api).await;
    let admin = app.admin();
    let names = ["a", "b", "PANIC", "c", "d"];
    let creates = names.iter().map(|name| {
        let body = json!({ "name": name });
        app.call("POST", "/api/badges", Some(&admin), Some(body), &[])
    });
    let replies = join_all(creates).await;
    for (name, reply) in names.iter().zip(&replies) {
        if *name == "PANIC" {
            assert_eq!(reply.status.as_u16(), 500, "{}", reply.text);
            assert_eq!(
                reply.body["code"], "internal",
                "an ApiError: {}",
                reply.text
            );
        } else {
            assert_eq!(reply.status.as_u16(), 201, "{name}: {}", reply.text);
        }
    }
    // The module's writer carries on.
    let after = app
        .call(
            "POST",
            "/api/badges",
            Some(&admin),
            Some(json!({ "name": "e" })),
            &[],
        )
        .await;
    assert_eq!(after.status.as_u16(), 201, "{}", after.text);
    let list = app
        .call("GET", "/api/badges", Some(&admin), None, &[])
        .await
        .body;
    assert_eq!(
        (list["total"].as_u64(), list["seq"].as_u64()),
        (Some(5), Some(5))
    );
}

/// A column of every kind the runtime stores.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Sample {
    pub id: i64,
    pub whole: i64,
    pub ratio: f64,
    pub small: Option<f64>,
    pub on: bool,
    pub text: String,
    pub maybe: Option<String>,
    pub doc: Value,
    pub tags: Vec<String>,
    pub version: i64,
}

const SAMPLES: ModuleSettings = ModuleSettings {
    module: "samples",
    with_events: true,
    with_import: false,
    with_history: true,
    sortable: None,
};

/// Values at the edges of each kind of column.
fn samples() -> Vec<Value> {
    let doc = json!({ "nested": { "list": [1, 2.5, null, true, "\"x\""] }, "": {} });
    vec![
        json!({ "whole": i64::MAX, "ratio": 0.1, "small": 5e-324, "on": true,
                "text": "quote \" backslash \\ tab \t newline \n end", "maybe": null,
                "doc": doc, "tags": ["a,b", "\"q\"", ""] }),
        json!({ "whole": i64::MIN, "ratio": f64::MIN, "small": f64::MAX, "on": false,
                "text": "", "maybe": "", "doc": null, "tags": [] }),
        json!({ "whole": 0, "ratio": -0.000_000_1, "small": null, "on": true,
                "text": "🦀 é 中文 \u{1}", "maybe": "null", "doc": "a string", "tags": ["🦀"] }),
        json!({ "whole": -1, "ratio": 1e300, "small": -2.5, "on": false,
                "text": "{\"not\": \"json\"}", "maybe": "[]", "doc": [1, "two"], "tags": ["x"] }),
        json!({ "whole": 42, "ratio": 3.0, "small": 0.0, "on": true,
                "text": "'; DROP TABLE samples; --", "maybe": "$1", "doc": 18_446_744_073_709_551_615_u64,
                "tags": ["$2", "?"] }),
    ]
}

/// What a batch writes, and what a create alone writes, reads back from
/// the table exactly as it was sent, and so does its event from the log;
/// so does what an update writes.
#[tokio::test]
async fn every_kind_of_value_is_stored_exactly_in_a_batch_alone_and_updated() {
    let app = TestApp::new(Api::new().module::<Sample>(SAMPLES)).await;
    let admin = app.admin();
    let post = |body: Value| app.call("POST", "/api/samples", Some(&admin), Some(body), &[]);
    // Together, then each alone.
    let mut replies = join_all(samples().into_iter().map(post)).await;
    for body in samples() {
        replies.push(post(body).await);
    }
    let sent = samples().into_iter().chain(samples());
    let mut stored = BTreeMap::new();
    for (body, reply) in sent.zip(replies) {
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        for (key, value) in body.as_object().unwrap() {
            assert_eq!(&reply.body[key], value, "{key} as answered");
        }
        let id = reply.body["id"].as_u64().unwrap();
        let read = app
            .call(
                "GET",
                &format!("/api/samples/{id}"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(read.body, reply.body, "sample {id} as stored");
        stored.insert(id, read.body);
    }
    let logged = aegis::log::replay(app.aegis.db(), "samples", 0, 100)
        .await
        .unwrap();
    assert_eq!(logged.len(), stored.len());
    for event in logged {
        let id = event.message.data["id"].as_u64().unwrap();
        assert_eq!(event.message.data, stored[&id], "the event of sample {id}");
    }
    // Each sample changed to the values of the next: an update writes
    // every kind as exactly.
    let next = samples().into_iter().cycle().skip(1);
    for ((id, before), mut body) in stored.into_iter().zip(next) {
        body["version"] = before["version"].clone();
        let path = format!("/api/samples/{id}");
        let reply = app
            .call("PUT", &path, Some(&admin), Some(body.clone()), &[])
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        let read = app.call("GET", &path, Some(&admin), None, &[]).await;
        assert_eq!(read.body, reply.body, "sample {id} as updated");
        for (key, value) in body.as_object().unwrap() {
            if key != "version" {
                assert_eq!(&read.body[key], value, "{key} as updated");
            }
        }
    }
}

/// A statement first run with a nullable float's `null` is run again with
/// a number, on the same pooled connection, for a create alone, an update
/// and a batch: each is answered, and stores the number it was sent.
#[tokio::test]
async fn a_null_float_written_first_leaves_its_statement_fit_for_numbers() {
    let app = TestApp::new(Api::new().module::<Sample>(SAMPLES)).await;
    let admin = app.admin();
    let with_small = |small: Value| {
        let mut body = samples().remove(0);
        body["small"] = small;
        body
    };
    let post = |body: Value| app.call("POST", "/api/samples", Some(&admin), Some(body), &[]);
    let check = |reply: &Reply, small: &Value| {
        assert!(reply.status.is_success(), "{}", reply.text);
        assert_eq!(&reply.body["small"], small, "{}", reply.text);
    };
    // Enough of each, one after another, that every connection the pool
    // opens runs each statement with a `null` before it runs it with a
    // number.
    let values = [Value::Null, json!(2.5)];
    let mut ids = Vec::new();
    for small in &values {
        for _ in 0..12 {
            let reply = post(with_small(small.clone())).await;
            check(&reply, small);
            ids.push(reply.body["id"].clone());
        }
    }
    for small in &values {
        for id in &ids {
            let path = format!("/api/samples/{id}");
            let mut body = app.call("GET", &path, Some(&admin), None, &[]).await.body;
            body["small"] = small.clone();
            let reply = app.call("PUT", &path, Some(&admin), Some(body), &[]).await;
            check(&reply, small);
        }
    }
    for small in &values {
        for _ in 0..6 {
            let replies = join_all((0..3).map(|_| post(with_small(small.clone())))).await;
            for reply in &replies {
                check(reply, small);
            }
        }
    }
}
