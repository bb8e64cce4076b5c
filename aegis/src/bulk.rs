//! Routes over many rows of a list's view: `GET /api/<feature>/export`
//! streams the view as CSV in the import template's columns (so an export
//! imports back as the same rows), and `POST /api/<feature>/bulk-delete`
//! deletes chosen ids, or every row of a view, in one transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
use crate::reads::ViewRead;
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
    let limits = aegis.limits();
    let mut view = View::parse(meta, &settings, uri.query(), Reads::Ordered, &limits)?;
    view.restrict(meta, hooks.read_filter(&user).as_ref())?;
    let slot = aegis.claim_export(user.id())?;
    let db = aegis.db().clone();
    // Read before answering: a database that fails now is still a JSON error.
    let read = ViewRead::begin_export(&aegis, limits.export_max_time).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(2);
    let failed = Arc::new(AtomicBool::new(false));
    let failing = failed.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let sending = Sending {
            sender,
            timeout: limits.export_send_timeout,
        };
        if let Err(error) = write_csv::<T>(&db, read, &view, &sending).await {
            tracing::warn!(feature = meta.feature, %error, "export stopped");
            failing.store(true, Ordering::SeqCst);
        }
    });
    // The chunks, and an error at the end of an export that stopped: its
    // client sees a failed download, never a short file that looks whole.
    let chunks = futures_util::stream::unfold(Some(receiver), move |receiver| {
        let failed = failed.clone();
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(chunk) => Some((Ok(chunk), Some(receiver))),
                None if failed.load(Ordering::SeqCst) => {
                    Some((Err(std::io::Error::other("the export stopped")), None))
                }
                None => None,
            }
        }
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

/// Where an export's chunks go, and how long its client may take each.
struct Sending {
    sender: tokio::sync::mpsc::Sender<Bytes>,
    timeout: std::time::Duration,
}

impl Sending {
    /// Hands `chunk` to the client; `Ok(false)` when the client has gone,
    /// an error when it took none for [`Limits::export_send_timeout`].
    ///
    /// [`Limits::export_send_timeout`]: crate::Limits::export_send_timeout
    async fn send(&self, chunk: Vec<u8>) -> Result<bool, Error> {
        match tokio::time::timeout(self.timeout, self.sender.send(chunk.into())).await {
            Ok(sent) => Ok(sent.is_ok()),
            Err(_) => Err(Error::Unavailable(format!(
                "the client took no data for {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

/// Writes the view's rows to `sending` as CSV, a chunk at a time, from one
/// snapshot; stops when the client has gone.
async fn write_csv<T: CrudEntity>(
    db: &Db,
    mut read: ViewRead,
    view: &View,
    sending: &Sending,
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
        let mut rows = read.stream(&sql, &selection, meta);
        while let Some(row) = rows.next().await {
            let entity: T = from_object(row?)?;
            let data = entity_data(&entity);
            csv.write_record(columns.iter().map(|f| cell(f, data.get(f.wire_name))))
                .map_err(csv_error)?;
            if csv.get_ref().len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut csv, csv::Writer::from_writer(Vec::new()));
                let chunk = full.into_inner().map_err(|e| csv_error(e.into_error()))?;
                if !sending.send(chunk).await? {
                    return Ok(());
                }
            }
        }
    }
    read.finish().await?;
    let rest = csv.into_inner().map_err(|e| csv_error(e.into_error()))?;
    if !rest.is_empty() {
        sending.send(rest).await?;
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
    if let (Some(_), Some(Value::Array(ids))) = (field.many, value) {
        // Linked ids, `;`-separated, as the import reads them.
        let ids: Vec<String> = ids
            .iter()
            .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
            .collect();
        return crate::formulas::neutralise(&ids.join(";")).into_owned();
    }
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
/// each row, all or none). A view's rows are selected on a snapshot first,
/// within the statement timeout; the change, which holds the database's
/// writer, then keeps those of them still in the view and deletes them.
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
    let limits = aegis.limits();
    let too_many = || {
        Error::BadRequest(format!(
            "a bulk delete deletes at most {} rows; this one would delete more",
            limits.bulk_delete_rows
        ))
    };
    let (ids, view) = match (request.ids, request.query) {
        (Some(ids), None) => (given_ids::<T>(ids)?, None),
        (None, Some(query)) => {
            let mut view = View::parse(meta, &settings, Some(&query), Reads::Rows, &limits)?;
            view.restrict(meta, access.as_ref())?;
            (selected_ids::<T>(&aegis, &user, &view).await?, Some(view))
        }
        _ => {
            return Err(Error::BadRequest(
                "a bulk delete takes either `ids` or `query`".to_owned(),
            ));
        }
    };
    if ids.len() > limits.bulk_delete_rows {
        return Err(too_many());
    }
    let mut change = aegis.change().await?;
    let ids = match &view {
        Some(view) => still_selected::<T>(aegis.db(), change.tx(), view, &ids).await?,
        None => ids,
    };
    let origin = crate::crud::origin(&headers);
    let deleting = DeleteRequest {
        aegis: &aegis,
        settings,
        user: &user,
        origin: origin.as_deref(),
        access: access.as_ref(),
    };
    let (mut deleted, mut touched) = (Vec::with_capacity(ids.len()), Vec::new());
    for id in &ids {
        let (entity, after) = deleting.delete(&*hooks, &mut change, id).await?;
        deleted.push(entity);
        touched.extend(after);
    }
    change.commit().await?;
    for entity in &deleted {
        hooks
            .after_commit(user.id(), EventAction::Deleted, entity)
            .await;
    }
    for after in touched {
        after().await;
    }
    Ok(Json(BulkDeleted {
        deleted: deleted.len() as u64,
    }))
}

/// The ids a request names, each once, in its order.
fn given_ids<T: CrudEntity>(ids: Vec<Value>) -> Result<Vec<T::Id>, Error> {
    let mut seen = std::collections::HashSet::new();
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        if seen.insert(id.to_string()) {
            unique.push(id_of::<T>(id)?);
        }
    }
    Ok(unique)
}

fn id_of<T: CrudEntity>(id: Value) -> Result<T::Id, Error> {
    let not_id = || Error::BadRequest(format!("`{id}` is not an id of {}", T::meta().feature));
    serde_json::from_value(id.clone()).or_else(|_| {
        // `120.0` is the id 120, as JSON Schema counts whole numbers.
        let mut whole = id.clone();
        crate::error::whole_floats_to_integers(&mut whole)
            .then(|| serde_json::from_value(whole).ok())
            .flatten()
            .ok_or_else(not_id)
    })
}

/// The ids of the view's rows (one more than a bulk delete may delete, to
/// tell it is too many), read on a snapshot within the statement timeout:
/// a selection a client shapes never holds the writer.
async fn selected_ids<T: CrudEntity>(
    aegis: &Aegis,
    user: &User,
    view: &View,
) -> Result<Vec<T::Id>, Error> {
    let (db, meta, limits) = (aegis.db(), T::meta(), aegis.limits());
    let selection = view.selection(db, meta);
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
        db.ident(meta.id_field().name),
        db.ident(meta.module),
        selection.where_clause,
        selection.order_by,
        limits.bulk_delete_rows + 1
    );
    let mut read = ViewRead::begin(aegis, user.id(), limits.statement_timeout).await?;
    let ids = read.ids(&sql, &selection, meta).await?;
    read.finish().await?;
    ids.into_iter().map(id_of::<T>).collect()
}

/// Which of `ids` are still in the view, in the change that deletes them:
/// a row changed since the snapshot may have left it, or be gone. At most
/// as many rows as a bulk delete deletes are read, by their ids.
async fn still_selected<T: CrudEntity>(
    db: &Db,
    tx: &mut crate::store::Tx,
    view: &View,
    ids: &[T::Id],
) -> Result<Vec<T::Id>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let meta = T::meta();
    let id_field = meta.id_field();
    let selection = view.selection(db, meta);
    let first = selection.binds.len() + 1;
    let params: Vec<String> = (first..first + ids.len()).map(|n| db.param(n)).collect();
    let joiner = if selection.where_clause.is_empty() {
        " WHERE"
    } else {
        " AND"
    };
    let sql = format!(
        "SELECT {id} FROM {}{}{joiner} {id} IN ({}) ORDER BY {}",
        db.ident(meta.module),
        selection.where_clause,
        params.join(", "),
        selection.order_by,
        id = db.ident(id_field.name),
    );
    let mut query = selection.bind(db, sqlx::query(&sql));
    for id in ids {
        query = db.bind(query, id_field, Some(&crate::rows::id_value::<T>(id)?));
    }
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|row| id_of::<T>(db.read_id(row, meta)?))
        .collect()
}
