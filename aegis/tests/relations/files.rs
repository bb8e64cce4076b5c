//! Files (`aegis::File`): uploaded on their own, typed by their bytes and
//! bounded by the field, stored once per content (in the database, or on
//! an S3 endpoint when `AEGIS_TEST_S3_URL` names one: moto's, started by
//! `cargo xtask test`), recorded as held in the row's transaction,
//! downloaded by whoever may read the row, and collected when no row
//! holds them any more, after their grace.

use aegis::files::FileStore;
use aegis::testing::{Reply, TestApp};
use aegis::{Api, ModuleSettings, crud_module};
use axum::body::Body;
use axum::http::Request;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Contract {
    pub id: i64,
    pub title: String,
    pub owner: String,
    #[crud(file(max_bytes = 2000, types = ["application/pdf"]))]
    pub document: Option<aegis::File>,
    #[crud(file(types = ["image/png", "image/jpeg"]))]
    pub photo: Option<aegis::File>,
    pub version: i64,
}

/// A user reads their own contracts; `u1`, the admin, all. A contract
/// titled "refused" is not saved.
#[derive(Clone, Default)]
struct Owned;

impl aegis::hooks::CrudHooks<Contract> for Owned {
    fn read_filter(&self, user: &aegis::auth::User) -> Option<aegis::access::RowFilter> {
        (user.id() != "u1").then(|| aegis::access::RowFilter::equals("owner", user.id()))
    }

    async fn before_create(
        &self,
        _ctx: &mut aegis::hooks::HookContext<'_>,
        contract: &mut Contract,
    ) -> Result<(), aegis::Error> {
        if contract.title == "refused" {
            return Err(aegis::Error::Forbidden("refused".to_owned()));
        }
        Ok(())
    }
}

fn api() -> Api {
    Api::new()
        .module::<Contract>(ModuleSettings {
            module: "contracts",
            with_events: true,
            with_import: true,
            with_history: true,
            sortable: None,
        })
        .hooks::<Contract>(Owned)
}

/// An app with the default grace: a test moves time past it by passing a
/// later `now` to the collection (a zero grace would let the background
/// pass, woken by any test's dropped reference, take a fresh upload).
async fn app() -> TestApp {
    TestApp::new(api()).await
}

/// Later than any upload's grace.
fn past_the_grace() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::hours(2)
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn upload(app: &TestApp, field: &str, name: &str, bytes: &[u8]) -> Reply {
    app.upload("contracts", field, name, bytes).await
}

async fn uploaded(app: &TestApp, field: &str, name: &str, bytes: &[u8]) -> Value {
    let reply = upload(app, field, name, bytes).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn call(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Reply {
    app.call(method, path, Some(&app.admin()), body, &[]).await
}

async fn stored_files(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM aegis_files")
        .fetch_one(app.aegis.db().pool())
        .await
        .expect("the files")
        .get(0)
}

async fn collect(app: &TestApp) -> u64 {
    let collected = app
        .aegis
        .collect_files(past_the_grace())
        .await
        .expect("a collection");
    collected.files
}

/// Uploads, holds, downloads, replaces and deletes, as any store does.
async fn round_trip(app: &TestApp) {
    let first = uploaded(app, "document", "contract.pdf", PDF).await;
    assert_eq!(first["contentType"], "application/pdf");
    assert_eq!(first["size"], PDF.len());
    assert_eq!(first["name"], "contract.pdf");
    let again = uploaded(app, "document", "copy.pdf", PDF).await;
    assert_eq!(again["id"], first["id"], "the same bytes are one file");
    assert_eq!(stored_files(app).await, 1);

    let created = call(
        app,
        "POST",
        "/api/contracts",
        Some(json!({ "title": "Lease", "owner": "u2", "document": first })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let got = call(
        app,
        "GET",
        &format!("/api/contracts/{id}/files/document"),
        None,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.bytes, PDF);
    let header = |name: &str| got.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"contract.pdf\"; filename*=UTF-8''contract.pdf"
    );
    assert_eq!(collect(app).await, 0, "a held file stays");

    // Replaced: the old file goes once nothing holds it.
    let other = uploaded(app, "document", "v2.pdf", &[PDF, b"% v2\n"].concat()).await;
    let saved = call(
        app,
        "PUT",
        &format!("/api/contracts/{id}"),
        Some(json!({ "title": "Lease", "owner": "u2", "document": other, "version": 1 })),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(collect(app).await, 1);
    let got = call(
        app,
        "GET",
        &format!("/api/contracts/{id}/files/document"),
        None,
    )
    .await;
    assert_eq!(got.bytes, [PDF, b"% v2\n"].concat());

    // A file is filtered by whether there is one, and never sorted by.
    let without = call(app, "GET", "/api/contracts?document.empty=true", None).await;
    assert_eq!(without.body["total"], 0, "{}", without.text);
    let with = call(app, "GET", "/api/contracts?document.empty=false", None).await;
    assert_eq!(with.body["total"], 1, "{}", with.text);
    let sorted = call(app, "GET", "/api/contracts?sort=document", None).await;
    assert_eq!(sorted.status, 400, "{}", sorted.text);
    let compared = call(app, "GET", "/api/contracts?document.eq=x", None).await;
    assert_eq!(compared.status, 400, "{}", compared.text);

    let deleted = call(app, "DELETE", &format!("/api/contracts/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(collect(app).await, 1);
    assert_eq!(stored_files(app).await, 0);
}

#[tokio::test]
async fn a_file_is_stored_once_downloaded_and_collected_when_no_row_holds_it() {
    round_trip(&app().await).await;
}

#[tokio::test]
async fn an_image_is_shown_inline_and_a_large_file_comes_back_whole() {
    let app = app().await;
    let photo = uploaded(&app, "photo", "face.png", PNG).await;
    assert_eq!(photo["contentType"], "image/png");
    // Larger than a chunk: stored and read back in several.
    let big: Vec<u8> = [b"\xff\xd8\xff\xe0".as_slice(), &vec![7u8; 2_500_000]].concat();
    let jpeg = uploaded(&app, "photo", "big.jpg", &big).await;
    let id = super::create(
        &app,
        "contracts",
        json!({ "title": "Portrait", "owner": "u1", "photo": jpeg }),
    )
    .await;
    let got = call(
        &app,
        "GET",
        &format!("/api/contracts/{id}/files/photo"),
        None,
    )
    .await;
    assert_eq!(got.headers["content-type"], "image/jpeg");
    assert!(
        got.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(
        got.headers["content-length"],
        big.len().to_string().as_str()
    );
    assert!(got.bytes == big, "the bytes come back as they went");
}

#[tokio::test]
async fn uploads_are_judged_by_their_bytes_and_bounded_by_the_field() {
    let app = app().await;
    let refused = upload(&app, "document", "photo.pdf", PNG).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "This file is a PNG image (image/png); Document takes application/pdf."
    );
    assert_eq!(refused.body["fields"][0]["field"], "document");

    let empty = upload(&app, "document", "empty.pdf", b"").await;
    assert_eq!(empty.status, 422);
    assert_eq!(empty.body["message"], "This file is empty.");

    let most = [PDF, &vec![b' '; 2000 - PDF.len()]].concat();
    assert_eq!(
        upload(&app, "document", "full.pdf", &most).await.status,
        201
    );
    let over = upload(&app, "document", "over.pdf", &[&most[..], b" "].concat()).await;
    assert_eq!(over.status, 413, "{}", over.text);
    assert_eq!(
        over.body["message"],
        "This file is larger than Document takes: at most 2 kB."
    );

    let named = upload(&app, "document", "a/b.pdf", PDF).await;
    assert_eq!(named.status, 422);
    let unknown = upload(&app, "title", "a.pdf", PDF).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(stored_files(&app).await, 1, "only the full one was kept");
}

#[tokio::test]
async fn a_row_holds_only_a_file_stored_as_it_says() {
    let app = app().await;
    let file = uploaded(&app, "document", "a.pdf", PDF).await;
    let mut forged = file.clone();
    forged["size"] = json!(1);
    for (document, why) in [
        (
            json!({ "id": "0".repeat(64), "name": "x.pdf", "size": 1, "contentType": "application/pdf" }),
            "no file",
        ),
        (forged, "does not match its upload"),
    ] {
        let reply = call(
            &app,
            "POST",
            "/api/contracts",
            Some(json!({ "title": "Forged", "owner": "u1", "document": document })),
        )
        .await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        let message = reply.body["fields"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(why), "{message}");
    }

    // A refused hook writes no reference: the upload is an orphan, and goes.
    let reply = call(
        &app,
        "POST",
        "/api/contracts",
        Some(json!({ "title": "refused", "owner": "u1", "document": file })),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(collect(&app).await, 1);
}

#[tokio::test]
async fn an_upload_no_row_came_to_hold_is_kept_for_its_grace_then_collected() {
    let app = TestApp::new(api()).await;
    uploaded(&app, "document", "a.pdf", PDF).await;
    let soon = chrono::Utc::now() + chrono::Duration::minutes(5);
    let kept = app.aegis.collect_files(soon).await.unwrap();
    assert_eq!(kept.files, 0, "within the hour a form has to save it");
    let later = chrono::Utc::now() + chrono::Duration::minutes(61);
    assert_eq!(app.aegis.collect_files(later).await.unwrap().files, 1);
    assert_eq!(stored_files(&app).await, 0);
}

#[tokio::test]
async fn a_file_is_downloaded_only_by_who_may_read_its_row() {
    let app = app().await;
    let file = uploaded(&app, "document", "a.pdf", PDF).await;
    let id = super::create(
        &app,
        "contracts",
        json!({ "title": "Mine", "owner": "u2", "document": file }),
    )
    .await;
    let path = format!("/api/contracts/{id}/files/document");
    let owner = app.token("u2", &["contracts"], &[]);
    let other = app.token("u3", &["contracts"], &[]);
    let nobody = app.token("u4", &[], &[]);
    assert_eq!(
        app.call("GET", &path, Some(&owner), None, &[]).await.status,
        200
    );
    let hidden = app.call("GET", &path, Some(&other), None, &[]).await;
    assert_eq!(hidden.status, 404, "{}", hidden.text);
    assert_eq!(
        hidden.body["message"],
        format!("no contract with id `{id}`")
    );
    assert_eq!(
        app.call("GET", &path, Some(&nobody), None, &[])
            .await
            .status,
        403
    );
    assert_eq!(app.call("GET", &path, None, None, &[]).await.status, 401);
    let none = call(
        &app,
        "GET",
        &format!("/api/contracts/{id}/files/photo"),
        None,
    )
    .await;
    assert_eq!(none.status, 404);

    let request = Request::builder()
        .method("POST")
        .uri("/api/contracts/files/document?name=a.pdf")
        .header("authorization", format!("Bearer {owner}"))
        .body(Body::from(PDF.to_vec()))
        .unwrap();
    assert_eq!(
        app.send(request).await.status,
        403,
        "reading is not writing"
    );
}

#[tokio::test]
async fn csv_carries_the_stored_file_not_its_bytes() {
    let app = app().await;
    let file = uploaded(&app, "document", "a.pdf", PDF).await;
    super::create(
        &app,
        "contracts",
        json!({ "title": "Lease", "owner": "u1", "document": file }),
    )
    .await;
    let export = call(&app, "GET", "/api/contracts/export", None).await;
    assert_eq!(export.status, 200, "{}", export.text);
    let cell = file.to_string().replace('"', "\"\"");
    assert!(export.text.contains(&cell), "{}", export.text);
    assert!(!export.text.contains("%PDF"), "never the bytes");

    let unknown = json!({ "id": "0".repeat(64), "name": "x.pdf", "size": 1, "contentType": "application/pdf" });
    let csv = format!(
        "title,owner,document,photo\nCopy,u1,\"{cell}\",\nForged,u1,\"{}\",\n",
        unknown.to_string().replace('"', "\"\"")
    );
    let reply = app.import("contracts", &csv, false).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let job = app
        .finished_job("contracts", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 1, "{job}");
    assert_eq!(job["errors"][0]["row"], 2, "{job}");
    assert_eq!(job["errors"][0]["field"], "document", "{job}");
    let copy = call(&app, "GET", "/api/contracts?title.eq=Copy", None).await;
    assert_eq!(copy.body["data"][0]["document"], file);
    assert_eq!(collect(&app).await, 0, "two rows hold it");
}

/// The same on an S3 endpoint, and its sweep of objects no record names.
#[tokio::test]
async fn files_on_an_s3_store() {
    let Ok(url) = std::env::var("AEGIS_TEST_S3_URL") else {
        eprintln!("AEGIS_TEST_S3_URL is not set: `cargo xtask test` starts moto's S3 for this");
        return;
    };
    let app = app().await;
    let prefix = format!("{url}/{}", uuid::Uuid::new_v4().simple());
    let store = FileStore::s3(&prefix).expect("the S3 store");
    app.aegis.use_file_store(store.clone());
    round_trip(&app).await;
    // Larger than a part: uploaded to the store in parts.
    let big: Vec<u8> = [b"\xff\xd8\xff\xe0".as_slice(), &vec![9u8; 9_000_000]].concat();
    let photo = uploaded(&app, "photo", "big.jpg", &big).await;
    let id = super::create(
        &app,
        "contracts",
        json!({ "title": "Scan", "owner": "u1", "photo": photo }),
    )
    .await;
    let got = call(
        &app,
        "GET",
        &format!("/api/contracts/{id}/files/photo"),
        None,
    )
    .await;
    assert!(got.bytes == big, "the parts come back as one file");

    let FileStore::Objects { store, prefix } = store else {
        unreachable!()
    };
    use object_store::ObjectStoreExt;
    let orphan = prefix.clone().join("f".repeat(64));
    store
        .put(
            &orphan,
            object_store::PutPayload::from_static(b"left by a crash"),
        )
        .await
        .expect("a put");
    let swept = app.aegis.collect_files(past_the_grace()).await.unwrap();
    assert_eq!(swept.orphans, 1);
    assert!(store.head(&orphan).await.is_err(), "the orphan is gone");
}
