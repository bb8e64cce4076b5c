//! Stamped fields and server hooks: the server fills `created_at`,
//! `updated_at`, `created_by` and `updated_by`; an app's hooks change
//! values, refuse changes (422 naming the field, or 403), write inside the
//! change's transaction (kept with it, rolled back with a refusal) and hear
//! each commit; CSV rows go through the same hooks. Runs on SQLite, and on
//! PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

mod common;

use std::sync::{Arc, Mutex};

use aegis::export::chrono::{DateTime, Utc};
use aegis::hooks::{CrudHooks, HookContext};
use aegis::protocol::EventAction;
use aegis::testing::TestApp;
use aegis::{Api, Error, ModuleSettings, crud_module};
use common::{audit, audit_notes, create_audit_table};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Order {
    pub id: i64,
    pub item: String,
    pub quantity: i32,
    #[crud(created_at)]
    pub created_at: Option<DateTime<Utc>>,
    #[crud(updated_at)]
    pub updated_at: Option<DateTime<Utc>>,
    #[crud(created_by)]
    pub created_by: String,
    #[crud(updated_by)]
    pub updated_by: Option<String>,
    pub version: i64,
}

const SETTINGS: ModuleSettings = ModuleSettings {
    module: "orders",
    with_events: true,
    with_import: true,
    with_history: true,
    sortable: None,
};

/// Item names upper-cased; no more than 100 of one; a `KEEP` order is
/// never deleted; an audit row per change; every commit heard.
#[derive(Clone, Default)]
struct OrderHooks {
    heard: Arc<Mutex<Vec<String>>>,
}

impl CrudHooks<Order> for OrderHooks {
    async fn before_create(
        &self,
        ctx: &mut HookContext<'_>,
        order: &mut Order,
    ) -> Result<(), Error> {
        audit(ctx, format!("create {} by {}", order.item, ctx.user())).await?;
        if order.quantity > 100 {
            return Err(Error::field("quantity", "is more than we stock"));
        }
        order.item = order.item.to_uppercase();
        Ok(())
    }

    async fn before_update(
        &self,
        _ctx: &mut HookContext<'_>,
        before: &Order,
        after: &mut Order,
    ) -> Result<(), Error> {
        if after.quantity < before.quantity / 2 {
            return Err(Error::field("quantity", "cannot drop by more than half"));
        }
        Ok(())
    }

    async fn before_delete(&self, _ctx: &mut HookContext<'_>, order: &Order) -> Result<(), Error> {
        if order.item == "KEEP" {
            return Err(Error::Forbidden("this order is kept".to_owned()));
        }
        Ok(())
    }

    async fn after_commit(&self, user: &str, action: EventAction, order: &Order) {
        let mut heard = self.heard.lock().unwrap();
        heard.push(format!("{action:?} {} by {user}", order.item));
    }
}

async fn app(hooks: OrderHooks) -> TestApp {
    let app = TestApp::new(Api::new().module::<Order>(SETTINGS).hooks::<Order>(hooks)).await;
    create_audit_table(&app).await;
    app
}

async fn post(app: &TestApp, token: &str, body: Value) -> aegis::testing::Reply {
    app.call("POST", "/api/orders", Some(token), Some(body), &[])
        .await
}

#[tokio::test]
async fn stamps_are_the_servers_and_follow_each_change() {
    let app = app(OrderHooks::default()).await;
    let alice = app.token("alice", &[], &["orders"]);
    let bob = app.token("bob", &[], &["orders"]);

    let created = post(&app, &alice, json!({ "item": "pen", "quantity": 3 })).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let order = &created.body;
    assert_eq!(order["created_by"], "alice");
    assert_eq!(order["updated_by"], "alice");
    let created_at: DateTime<Utc> = serde_json::from_value(order["created_at"].clone()).unwrap();
    assert!((Utc::now() - created_at).num_seconds().abs() < 60);
    assert_eq!(order["updated_at"], order["created_at"]);

    // What a client sends for a stamped field is not what is stored.
    let id = order["id"].as_i64().unwrap();
    let update = json!({ "item": "PEN", "quantity": 4, "version": 1 });
    let updated = app
        .call(
            "PUT",
            &format!("/api/orders/{id}"),
            Some(&bob),
            Some(update),
            &[],
        )
        .await;
    assert_eq!(updated.status.as_u16(), 200, "{}", updated.text);
    assert_eq!(updated.body["created_by"], "alice");
    assert_eq!(updated.body["created_at"], order["created_at"]);
    assert_eq!(updated.body["updated_by"], "bob");
    let updated_at: DateTime<Utc> =
        serde_json::from_value(updated.body["updated_at"].clone()).unwrap();
    assert!(updated_at >= created_at);

    // As stored, not only as answered.
    let stored = app
        .call("GET", &format!("/api/orders/{id}"), Some(&alice), None, &[])
        .await;
    assert_eq!(stored.body["updated_by"], "bob");
    assert_eq!(stored.body["created_by"], "alice");
}

#[tokio::test]
async fn hooks_change_refuse_write_in_the_transaction_and_hear_commits() {
    let hooks = OrderHooks::default();
    let app = app(hooks.clone()).await;
    let mut events = app.aegis.bus().subscribe();
    let alice = app.token("alice", &[], &["orders"]);

    let created = post(&app, &alice, json!({ "item": "pen", "quantity": 10 })).await;
    assert_eq!(created.body["item"], "PEN", "the hook changed the value");

    let refused = post(&app, &alice, json!({ "item": "ink", "quantity": 500 })).await;
    assert_eq!(refused.status.as_u16(), 422, "{}", refused.text);
    assert_eq!(refused.body["fields"][0]["field"], "quantity");
    assert_eq!(
        refused.body["fields"][0]["message"],
        "is more than we stock"
    );
    // The refused create's audit row was rolled back with it.
    assert_eq!(audit_notes(&app).await, ["create pen by alice"]);

    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/orders/{id}");
    let drop = json!({ "item": "PEN", "quantity": 1, "version": 1 });
    let refused = app.call("PUT", &path, Some(&alice), Some(drop), &[]).await;
    assert_eq!(refused.status.as_u16(), 422, "{}", refused.text);
    assert_eq!(
        refused.body["fields"][0]["message"],
        "cannot drop by more than half"
    );

    let keep = post(&app, &alice, json!({ "item": "keep", "quantity": 1 })).await;
    // The refused create's id and seq, taken before its hook ran, went back
    // with its transaction.
    assert_eq!(keep.body["id"], 2);
    let keep_path = format!("/api/orders/{}", keep.body["id"]);
    let refused = app
        .call("DELETE", &keep_path, Some(&alice), None, &[])
        .await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text);
    assert_eq!(refused.body["code"], "forbidden");
    let still = app.call("GET", &keep_path, Some(&alice), None, &[]).await;
    assert_eq!(still.status.as_u16(), 200);

    let deleted = app.call("DELETE", &path, Some(&alice), None, &[]).await;
    assert_eq!(deleted.status.as_u16(), 204, "{}", deleted.text);
    assert_eq!(
        *hooks.heard.lock().unwrap(),
        [
            "Created PEN by alice",
            "Created KEEP by alice",
            "Deleted PEN by alice"
        ]
    );
    let published: Vec<(u64, String, Value)> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| {
            let data = serde_json::to_value(&e.message.data).unwrap();
            (
                e.seq(),
                format!("{:?}", e.message.action),
                data["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        published,
        [
            (1, "Created".to_owned(), json!(1)),
            (2, "Created".to_owned(), json!(2)),
            (3, "Deleted".to_owned(), json!(1))
        ]
    );
}

#[tokio::test]
async fn imported_rows_are_stamped_and_go_through_the_hooks() {
    let hooks = OrderHooks::default();
    let app = app(hooks.clone()).await;
    let reply = app
        .import("orders", "item,quantity\npen,3\nink,500\npad,7\n", false)
        .await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("orders", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2, "{job}");
    assert_eq!(job["failedRows"], 1, "{job}");
    assert_eq!(job["errors"][0]["row"], 2);
    assert_eq!(job["errors"][0]["field"], "quantity");
    assert_eq!(job["errors"][0]["message"], "is more than we stock");

    let list = app
        .call("GET", "/api/orders?sort=id", Some(&app.admin()), None, &[])
        .await;
    let rows = list.body["data"].as_array().unwrap();
    let items: Vec<&str> = rows.iter().map(|r| r["item"].as_str().unwrap()).collect();
    assert_eq!(items, ["PEN", "PAD"]);
    assert!(
        rows.iter()
            .all(|r| r["created_by"] == "u1" && r["created_at"].is_string())
    );
    assert_eq!(
        *hooks.heard.lock().unwrap(),
        ["Created PEN by u1", "Created PAD by u1"]
    );
    // What the hook wrote for the refused row went with it.
    assert_eq!(
        audit_notes(&app).await,
        ["create pad by u1", "create pen by u1"]
    );
}
