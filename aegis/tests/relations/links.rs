//! Many-to-many links (`#[crud(many = "tags")]`): the row's list and its
//! link table are written in the row's transaction (a refused hook writes
//! neither), filtered by `has` and `has_any`, checked against the linked
//! rows a user may read, bounded, carried by CSV as `;`-separated ids,
//! and a linked row's delete removes it from every list with an `updated`
//! event per row, within `Limits::cascade_rows`.

use aegis::protocol::EventAction;
use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Article {
    pub id: i64,
    pub title: String,
    #[crud(many = "tags")]
    #[serde(default)]
    pub tags: Vec<i64>,
    /// The tag it is filed under: emptied when that tag goes.
    #[crud(references = "tags", on_delete = "set_null")]
    #[serde(default)]
    pub filed_under: Option<i64>,
    pub version: i64,
}

/// An article titled "refused" is not saved: its links must not be either;
/// one titled "doubled" has its first tag listed twice by the hook.
#[derive(Clone, Default)]
struct Refuse;

impl aegis::hooks::CrudHooks<Article> for Refuse {
    async fn before_create(
        &self,
        _ctx: &mut aegis::hooks::HookContext<'_>,
        article: &mut Article,
    ) -> Result<(), aegis::Error> {
        refuse(article)
    }

    async fn before_update(
        &self,
        _ctx: &mut aegis::hooks::HookContext<'_>,
        _before: &Article,
        after: &mut Article,
    ) -> Result<(), aegis::Error> {
        refuse(after)
    }
}

fn refuse(article: &mut Article) -> Result<(), aegis::Error> {
    if article.title == "refused" {
        return Err(aegis::Error::Forbidden("refused".to_owned()));
    }
    if article.title == "doubled"
        && let Some(first) = article.tags.first().copied()
    {
        article.tags.push(first);
    }
    Ok(())
}

/// A user reads the tags named after them; `u1`, the admin, all.
#[derive(Clone, Default)]
struct OwnTags;

impl aegis::hooks::CrudHooks<Tag> for OwnTags {
    fn read_filter(&self, user: &aegis::auth::User) -> Option<aegis::access::RowFilter> {
        (user.id() != "u1").then(|| aegis::access::RowFilter::equals("name", user.id()))
    }
}

fn settings(module: &'static str, with_import: bool) -> ModuleSettings {
    ModuleSettings {
        module,
        with_events: true,
        with_import,
        with_history: true,
        sortable: None,
    }
}

fn api() -> Api {
    Api::new()
        .module::<Tag>(settings("tags", false))
        .module::<Article>(settings("articles", true))
        .hooks::<Article>(Refuse)
        .hooks::<Tag>(OwnTags)
}

async fn app_with(limits: aegis::Limits) -> TestApp {
    TestApp::with_limits(api(), limits).await
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> aegis::testing::Reply {
    app.call(method, path, Some(&app.admin()), body, &[]).await
}

async fn tags(app: &TestApp, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(super::create(app, "tags", json!({ "name": name })).await);
    }
    ids
}

/// The link table's rows, as (article, tag), in order.
async fn links(app: &TestApp) -> Vec<(i64, i64)> {
    let rows =
        sqlx::query("SELECT row_id, target_id FROM articles_tags ORDER BY row_id, target_id")
            .fetch_all(app.aegis.db().pool())
            .await
            .expect("the link table");
    rows.iter()
        .map(|row| {
            use sqlx::Row;
            (row.get::<i64, _>(0), row.get::<i64, _>(1))
        })
        .collect()
}

/// The titles a list query finds, in order.
async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let reply = call(app, "GET", &format!("/api/articles?{query}"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn links_are_written_with_the_row_and_filtered_both_ways() {
    let app = app_with(aegis::Limits::default()).await;
    let [red, green, blue] = tags(&app, &["red", "green", "blue"]).await[..] else {
        unreachable!()
    };
    let one = super::create(
        &app,
        "articles",
        json!({ "title": "One", "tags": [green, red] }),
    )
    .await;
    let two = super::create(&app, "articles", json!({ "title": "Two", "tags": [red] })).await;
    super::create(&app, "articles", json!({ "title": "Three" })).await;
    let read = call(&app, "GET", &format!("/api/articles/{one}"), None).await;
    assert_eq!(
        read.body["tags"],
        json!([green, red]),
        "the order sent is kept"
    );
    assert_eq!(links(&app).await, [(one, red), (one, green), (two, red)]);

    assert_eq!(
        titles(&app, &format!("tags.has={red}")).await,
        ["One", "Two"]
    );
    assert_eq!(titles(&app, &format!("tags.has={green}")).await, ["One"]);
    assert_eq!(
        titles(&app, &format!("tags.has_any={green},{blue}")).await,
        ["One"]
    );
    assert!(titles(&app, &format!("tags.has={blue}")).await.is_empty());
    let bad = call(&app, "GET", "/api/articles?tags.eq=1", None).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["message"],
        "`tags` does not take `eq`; it takes `has`, `has_any`"
    );

    let saved = call(
        &app,
        "PUT",
        &format!("/api/articles/{one}"),
        Some(json!({ "title": "One", "tags": [blue], "version": 1 })),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["tags"], json!([blue]));
    assert_eq!(links(&app).await, [(one, blue), (two, red)]);
    assert_eq!(titles(&app, &format!("tags.has={blue}")).await, ["One"]);

    let deleted = call(&app, "DELETE", &format!("/api/articles/{two}"), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(links(&app).await, [(one, blue)]);
}

#[tokio::test]
async fn a_refused_write_leaves_the_links_as_they_were() {
    let app = app_with(aegis::Limits::default()).await;
    let [red, green] = tags(&app, &["red", "green"]).await[..] else {
        unreachable!()
    };
    let refused = call(
        &app,
        "POST",
        "/api/articles",
        Some(json!({ "title": "refused", "tags": [red] })),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(links(&app).await.is_empty());
    let one = super::create(&app, "articles", json!({ "title": "One", "tags": [red] })).await;
    let refused = call(
        &app,
        "PUT",
        &format!("/api/articles/{one}"),
        Some(json!({ "title": "refused", "tags": [green], "version": 1 })),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(links(&app).await, [(one, red)]);
}

#[tokio::test]
async fn a_list_names_rows_that_exist_once_each_and_not_too_many() {
    let app = app_with(aegis::Limits::default()).await;
    let [red] = tags(&app, &["red"]).await[..] else {
        unreachable!()
    };
    let post = |tags: Value| {
        call(
            &app,
            "POST",
            "/api/articles",
            Some(json!({ "title": "T", "tags": tags })),
        )
    };
    let missing = post(json!([red, 99])).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.body["fields"][0]["field"], "tags");
    assert_eq!(
        missing.body["fields"][0]["message"],
        "refers to tag 99, which does not exist"
    );
    let twice = post(json!([red, red])).await;
    assert_eq!(twice.status, 422, "{}", twice.text);
    assert_eq!(
        twice.body["fields"][0]["message"],
        format!("lists {red} twice")
    );
    let many: Vec<i64> = (1..=101).collect();
    let long = post(json!(many)).await;
    assert_eq!(long.status, 422, "{}", long.text);
    assert_eq!(
        long.body["fields"][0]["message"],
        "lists at most 100 rows, not 101"
    );
    assert!(links(&app).await.is_empty());

    // A user who may not read tags links none.
    let clerk = app.token("clerk", &[], &["articles"]);
    let body = json!({ "title": "T", "tags": [red] });
    let reply = app
        .call("POST", "/api/articles", Some(&clerk), Some(body), &[])
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        reply.body["fields"][0]["message"],
        "refers to tags, which you may not read"
    );
}

#[tokio::test]
async fn deleting_a_linked_row_unlinks_it_with_an_event_per_row_within_the_cap() {
    let app = app_with(aegis::Limits {
        cascade_rows: 2,
        ..aegis::Limits::default()
    })
    .await;
    let [red, green, blue] = tags(&app, &["red", "green", "blue"]).await[..] else {
        unreachable!()
    };
    let one = super::create(
        &app,
        "articles",
        json!({ "title": "One", "tags": [red, green] }),
    )
    .await;
    let two = super::create(&app, "articles", json!({ "title": "Two", "tags": [red] })).await;
    let three = super::create(
        &app,
        "articles",
        json!({ "title": "Three", "tags": [blue] }),
    )
    .await;
    super::create(&app, "articles", json!({ "title": "Four", "tags": [blue] })).await;
    super::create(&app, "articles", json!({ "title": "Five", "tags": [blue] })).await;

    let mut events = app.events();
    let deleted = call(&app, "DELETE", &format!("/api/tags/{red}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let mut updated = Vec::new();
    for _ in 0..3 {
        let event = events.recv().await.expect("an event");
        let message = &event.message;
        if message.action == EventAction::Updated {
            updated.push((
                message.data["id"].as_i64().unwrap(),
                message.data["tags"].clone(),
            ));
        }
    }
    updated.sort_by_key(|(id, _)| *id);
    assert_eq!(updated, [(one, json!([green])), (two, json!([]))]);
    let read = call(&app, "GET", &format!("/api/articles/{two}"), None).await;
    assert_eq!(read.body["version"], 2, "the row's version moved on");
    assert!(!links(&app).await.iter().any(|(_, tag)| *tag == red));

    // Three rows link blue: over the cap of 2, nothing changes.
    let refused = call(&app, "DELETE", &format!("/api/tags/{blue}"), None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("more than 2 rows")
    );
    assert!(links(&app).await.contains(&(three, blue)));
    assert_eq!(
        call(&app, "GET", &format!("/api/tags/{blue}"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn csv_carries_the_linked_ids_semicolon_separated() {
    let app = app_with(aegis::Limits::default()).await;
    let [red, green] = tags(&app, &["red", "green"]).await[..] else {
        unreachable!()
    };
    super::create(
        &app,
        "articles",
        json!({ "title": "One", "tags": [green, red] }),
    )
    .await;
    let export = call(&app, "GET", "/api/articles/export", None).await;
    assert_eq!(export.status, 200);
    let rows: Vec<&str> = export.text.lines().collect();
    // An export holds what an import takes back: the inputs.
    let row = format!("One,{green};{red},");
    assert_eq!(rows, ["title,tags,filed_under", row.as_str()]);

    let csv = format!("title,tags\nTwo,{red};{green}\nThree,\nFour,{red};99\n");
    let accepted = app.import("articles", &csv, false).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let job = app
        .finished_job("articles", accepted.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2, "{job}");
    assert_eq!(job["errors"][0]["field"], "tags", "{job}");
    assert_eq!(
        titles(&app, &format!("tags.has={red}")).await,
        ["One", "Two"]
    );
    let three = call(&app, "GET", "/api/articles?q=three", None).await;
    assert_eq!(three.body["data"][0]["tags"], json!([]));
}

/// A link table made where the rows already list ids (a field that held
/// them before it was declared `many`, or a table lost) is filled from the
/// rows' own lists.
#[tokio::test]
async fn a_new_link_table_is_filled_from_the_rows_lists() {
    let app = app_with(aegis::Limits::default()).await;
    let [red, green] = tags(&app, &["red", "green"]).await[..] else {
        unreachable!()
    };
    let one = super::create(
        &app,
        "articles",
        json!({ "title": "One", "tags": [green, red] }),
    )
    .await;
    let two = super::create(&app, "articles", json!({ "title": "Two", "tags": [green] })).await;
    app.drop_table("articles_tags").await;
    api().install(&app.aegis).await.expect("the tables");
    assert_eq!(links(&app).await, [(one, red), (one, green), (two, green)]);
    assert_eq!(
        titles(&app, &format!("tags.has={green}")).await,
        ["One", "Two"]
    );
}

/// A hook's list is checked as the client's is: a tag twice is a 422, and
/// nothing is written.
#[tokio::test]
async fn a_list_a_hook_leaves_is_checked_before_it_is_written() {
    let app = app_with(aegis::Limits::default()).await;
    let [red] = tags(&app, &["red"]).await[..] else {
        unreachable!()
    };
    let body = json!({ "title": "doubled", "tags": [red] });
    let doubled = call(&app, "POST", "/api/articles", Some(body)).await;
    assert_eq!(doubled.status, 422, "{}", doubled.text);
    assert_eq!(
        doubled.body["fields"][0]["message"],
        format!("lists {red} twice")
    );
    assert!(links(&app).await.is_empty());
    assert_eq!(titles(&app, "").await.len(), 0);
}

/// A tag both referenced and listed by one row is emptied and unlinked by
/// its delete: one field's change does not hide the row from the other.
#[tokio::test]
async fn a_delete_reaches_every_field_of_a_row_that_names_it() {
    let app = app_with(aegis::Limits::default()).await;
    let [red, green] = tags(&app, &["red", "green"]).await[..] else {
        unreachable!()
    };
    let body = json!({ "title": "One", "tags": [red, green], "filed_under": red });
    let one = super::create(&app, "articles", body).await;
    let deleted = call(&app, "DELETE", &format!("/api/tags/{red}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let read = call(&app, "GET", &format!("/api/articles/{one}"), None).await;
    assert_eq!(read.body["tags"], json!([green]));
    assert_eq!(read.body["filed_under"], Value::Null);
    assert_eq!(links(&app).await, [(one, green)]);
}

/// A save checks the ids it adds to a list, not those already there: a
/// link to a tag its user may not read does not stop them saving.
#[tokio::test]
async fn a_save_checks_the_links_it_adds() {
    let app = app_with(aegis::Limits::default()).await;
    let [secret, mine, other] = tags(&app, &["secret", "clerk", "other"]).await[..] else {
        unreachable!()
    };
    let body = json!({ "title": "One", "tags": [secret] });
    let one = super::create(&app, "articles", body).await;
    let clerk = app.token("clerk", &[], &["*"]);
    let path = format!("/api/articles/{one}");
    let save = |tags: Value, version: i64| {
        let body = json!({ "title": "One", "tags": tags, "version": version });
        app.call("PUT", &path, Some(&clerk), Some(body), &[])
    };
    let kept = save(json!([secret, mine]), 1).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    let refused = save(json!([secret, mine, other]), 2).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.body["fields"][0]["message"],
        format!("refers to tag {other}, which does not exist")
    );
}
