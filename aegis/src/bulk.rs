//! Routes over many rows of a list's view: `GET /api/<feature>/export`
//! streams the view as CSV in the import template's columns (so an export
//! imports back as the same rows), and `POST /api/<feature>/bulk-delete`
//! deletes chosen ids, or every row of a view, in one transaction.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::Value;

use crate::Aegis;
use crate::auth::User;
use crate::crud::DeleteRequest;
use crate::entity::{CrudEntity, FieldKind, FieldMeta, ModuleSettings};
use crate::error::{Error, deserialize_input};
use crate::events::entity_data;
use crate::hooks::CrudHooks;
use crate::protocol::{BulkDelete, BulkDeleted, EventAction};
use crate::query::{Reads, View};
use crate::rows::from_object;
use crate::store::Db;

/// The routes of `T` over many rows.
pub(crate) fn router<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
) -> Router<Aegis> {
    let base = format!("/api/{}", T::meta().feature);
    Router::new()
        .route(
            &format!("{base}/export"),
            get({
                let hooks = hooks.clone();
                move |state, user, uri| export::<T, H>(settings, hooks, state, user, uri)
            }),
        )
        .route(
            &format!("{base}/bulk-delete"),
            post(move |state, user, headers, body| {
                bulk_delete::<T, H>(settings, hooks, state, user, headers, body)
            }),
        )
}

/// Bytes an export gathers before handing them to the connection.
const CHUNK_BYTES: usize = 64 * 1024;

/// `GET /api/<feature>/export?sort=&q=&<filters>`: the view as CSV.
async fn export<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    uri: Uri,
) -> Result<Response, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let mut view = View::parse(
        meta,
        &settings,
        uri.query(),
        Reads::Ordered,
        aegis.limits().max_search_chars,
    )?;
    view.restrict(meta, hooks.read_filter(&user).as_ref())?;
    let permit = aegis.claim_export()?;
    let db = aegis.db().clone();
    // Read before answering: a database that fails now is still a JSON error.
    let tx = db.begin_snapshot().await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, Error>>(2);
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(error) = write_csv::<T>(&db, tx, &view, &sender).await {
            tracing::warn!(feature = meta.feature, %error, "export stopped");
            let _ = sender.send(Err(error)).await;
        }
    });
    let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let filename = format!("attachment; filename=\"{}.csv\"", meta.feature);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(chunks.boxed()),
    )
        .into_response())
}

/// Writes the view's rows to `sender` as CSV, a chunk at a time, from one
/// snapshot; stops when the client has gone.
async fn write_csv<T: CrudEntity>(
    db: &Db,
    mut tx: crate::store::Tx,
    view: &View,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, Error>>,
) -> Result<(), Error> {
    let meta = T::meta();
    let columns: Vec<&FieldMeta> = crate::import::columns(meta.fields).collect();
    let selection = view.selection(db, meta);
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {}",
        db.column_list(meta),
        db.ident(meta.module),
        selection.where_clause,
        selection.order_by
    );
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(columns.iter().map(|f| f.wire_name))
        .map_err(csv_error)?;
    {
        let mut rows = selection.bind(db, sqlx::query(&sql)).fetch(&mut *tx);
        while let Some(row) = rows.next().await {
            let entity: T = from_object(db.read_row(&row?, meta)?)?;
            let data = entity_data(&entity);
            csv.write_record(columns.iter().map(|f| cell(f, data.get(f.wire_name))))
                .map_err(csv_error)?;
            if csv.get_ref().len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut csv, csv::Writer::from_writer(Vec::new()));
                let chunk = full.into_inner().map_err(|e| csv_error(e.into_error()))?;
                if sender.send(Ok(chunk.into())).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    tx.commit().await?;
    let rest = csv.into_inner().map_err(|e| csv_error(e.into_error()))?;
    if !rest.is_empty() {
        let _ = sender.send(Ok(rest.into())).await;
    }
    Ok(())
}

fn csv_error(error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("cannot write the CSV: {error}"))
}

/// A value as the import reads it back: text as it is, `null` as an
/// empty cell, JSON as JSON text, except a JSON string that is no JSON
/// text itself (an enum's variant, say), written as it is; text and JSON
/// that a spreadsheet would run as a formula behind a `'`
/// ([`crate::formulas`]).
fn cell(field: &FieldMeta, value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(text))
            if field.kind != FieldKind::Json || serde_json::from_str::<Value>(text).is_err() =>
        {
            text.clone()
        }
        Some(other) => other.to_string(),
    };
    match field.kind {
        FieldKind::Text | FieldKind::Json => crate::formulas::neutralise(&text).into_owned(),
        FieldKind::Integer | FieldKind::Float | FieldKind::Boolean => text,
    }
}

/// `POST /api/<feature>/bulk-delete`: [`BulkDelete`]'s ids, or its view's
/// rows, deleted as one change (every hook, reference check and event of
/// each row, all or none).
async fn bulk_delete<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BulkDeleted>, Error> {
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let request: BulkDelete = deserialize_input(&body)?;
    let access = hooks.read_filter(&user);
    let limit = aegis.limits().bulk_delete_rows;
    let db = aegis.db();
    let mut change = aegis.change().await?;
    let ids: Vec<T::Id> = match (request.ids, request.query) {
        (Some(ids), None) => ids
            .into_iter()
            .map(|id| {
                serde_json::from_value(id.clone()).map_err(|_| {
                    Error::BadRequest(format!("`{id}` is not an id of {}", meta.feature))
                })
            })
            .collect::<Result<_, _>>()?,
        (None, Some(query)) => {
            let mut view = View::parse(
                meta,
                &settings,
                Some(&query),
                Reads::Rows,
                aegis.limits().max_search_chars,
            )?;
            view.restrict(meta, access.as_ref())?;
            // Read in the change itself: exactly the rows it deletes.
            let selection = view.selection(db, meta);
            let sql = format!(
                "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
                db.ident(meta.id_field().name),
                db.ident(meta.module),
                selection.where_clause,
                selection.order_by,
                limit + 1
            );
            let rows = selection
                .bind(db, sqlx::query(&sql))
                .fetch_all(&mut **change.tx())
                .await?;
            rows.iter()
                .map(|row| {
                    let object = db.read_id(row, meta)?;
                    serde_json::from_value(object).map_err(|e| {
                        Error::Internal(format!("a stored {} id does not read: {e}", meta.entity))
                    })
                })
                .collect::<Result<_, _>>()?
        }
        _ => {
            return Err(Error::BadRequest(
                "a bulk delete takes either `ids` or `query`".to_owned(),
            ));
        }
    };
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<T::Id> = ids
        .into_iter()
        .filter(|id| seen.insert(serde_json::to_string(id).unwrap_or_default()))
        .collect();
    if ids.len() > limit {
        return Err(Error::BadRequest(format!(
            "a bulk delete deletes at most {limit} rows; this one would delete more"
        )));
    }
    let origin = crate::crud::origin(&headers);
    let deleting = DeleteRequest {
        aegis: &aegis,
        settings,
        user: user.id(),
        origin: origin.as_deref(),
        access: access.as_ref(),
    };
    let mut deleted = Vec::with_capacity(ids.len());
    for id in &ids {
        deleted.push(deleting.delete(&*hooks, &mut change, id).await?);
    }
    change.commit().await?;
    for entity in &deleted {
        hooks
            .after_commit(user.id(), EventAction::Deleted, entity)
            .await;
    }
    Ok(Json(BulkDeleted {
        deleted: deleted.len() as u64,
    }))
}
