//! A row's history over REST: `GET /api/<feature>/{id}/history` pages it,
//! newest first, to whoever may read the row (a deleted row's, to whoever
//! could read its last version); `POST
//! /api/<feature>/{id}/history/{entry}/restore` writes that entry's
//! version back as a new change, through the update path: its rules,
//! hooks, access, version check, history entry and event.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::Value;

use crate::Aegis;
use crate::access::check_readable;
use crate::auth::User;
use crate::crud::{Saving, origin, parse_id, readable};
use crate::entity::{CrudEntity, ModuleSettings};
use crate::error::{ApiQuery, Error, deserialize_input};
use crate::events::entity_data;
use crate::hooks::CrudHooks;
use crate::protocol::{HistoryAction, HistoryPage, Restore};
use crate::rows::{id_value, to_object};

use crate::history::{Stored, complete, entry, newest, page, row_key, visible};

/// Entries a page holds unless the client asks for another number.
const DEFAULT_PAGE_SIZE: u32 = 20;

/// The history routes of `T`.
pub(crate) fn router<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
) -> axum::Router<Aegis> {
    if !settings.with_history {
        return axum::Router::new();
    }
    let base = format!("/api/{}/{{id}}/history", T::meta().feature);
    let reading = hooks.clone();
    axum::Router::new()
        .route(
            &base,
            get(move |state, user, path, query| history::<T, H>(reading, state, user, path, query)),
        )
        .route(
            &format!("{base}/{{entry}}/restore"),
            post(move |state, user, path, headers, body| {
                let request = RestoreRequest {
                    settings,
                    hooks,
                    headers,
                };
                restore::<T, H>(request, state, user, path, body)
            }),
        )
}

#[derive(serde::Deserialize, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageParams {
    page: Option<u32>,
    page_size: Option<u32>,
}

async fn history<T: CrudEntity, H: CrudHooks<T>>(
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    Path(raw): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<HistoryPage>, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let (key, current) = readable_row::<T, H>(&aegis, &*hooks, &user, &raw).await?;
    let page_size = params
        .page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, aegis.limits().max_page_size);
    let number = params.page.unwrap_or(1).max(1);
    let row = (meta, key.as_str(), &current);
    let filter = hooks.read_filter(&user);
    let (data, total) = page(aegis.db(), row, (number, page_size), filter.as_ref()).await?;
    Ok(Json(HistoryPage {
        data,
        total,
        page: number,
        page_size,
    }))
}

/// The history key of the row whose id is `raw`, and the row, if `user`
/// may read it: as it is, or, once deleted, as it last was. A 404
/// otherwise, the same as for a row that never was.
async fn readable_row<T: CrudEntity, H: CrudHooks<T>>(
    aegis: &Aegis,
    hooks: &H,
    user: &User,
    raw: &str,
) -> Result<(String, Value), Error> {
    let meta = T::meta();
    let gone = match readable::<T, H>(aegis, hooks, user, raw).await {
        Ok(row) => {
            return Ok((
                row_key(&row[meta.id_field().wire_name]),
                complete(meta, row),
            ));
        }
        Err(Error::NotFound(message)) => Error::NotFound(message),
        Err(error) => return Err(error),
    };
    let key = row_key(&id_value::<T>(&parse_id::<T>(raw)?)?);
    let db = aegis.db();
    let mut tx = db.begin_snapshot().await?;
    let last = newest(db, &mut tx, meta, &key).await?;
    tx.commit().await?;
    match last {
        Some(Stored { entry, state }) if entry.action == HistoryAction::Deleted => {
            check_readable(hooks.read_filter(user).as_ref(), &state, || gone)?;
            Ok((key, state))
        }
        _ => Err(gone),
    }
}

/// What a restore carries besides its own parts.
struct RestoreRequest<H> {
    settings: ModuleSettings,
    hooks: Arc<H>,
    headers: HeaderMap,
}

async fn restore<T: CrudEntity, H: CrudHooks<T>>(
    request: RestoreRequest<H>,
    State(aegis): State<Aegis>,
    user: User,
    Path((raw, entry_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let asked: Restore = if body.iter().all(u8::is_ascii_whitespace) {
        Restore::default()
    } else {
        deserialize_input(&body)?
    };
    // Whether the row has that entry is for those who may read the row.
    let row = complete(
        meta,
        readable::<T, H>(&aegis, &*request.hooks, &user, &raw).await?,
    );
    let key = row_key(&row[meta.id_field().wire_name]);
    let no_entry = || {
        Error::NotFound(format!(
            "{} `{raw}` has no history entry `{entry_id}`",
            meta.entity
        ))
    };
    let id = entry_id.parse::<u64>().map_err(|_| no_entry())?;
    let db = aegis.db();
    let mut tx = db.begin_snapshot().await?;
    let stored = entry(db, &mut tx, (meta, &key, &row), id)
        .await?
        .ok_or_else(no_entry)?;
    tx.commit().await?;
    // A version the user may not read is not theirs to write back.
    if !visible(request.hooks.read_filter(&user).as_ref(), &stored) {
        return Err(no_entry());
    }
    let origin = origin(&request.headers);
    let saving = Saving {
        aegis: &aegis,
        settings: request.settings,
        hooks: &*request.hooks,
        user: &user,
        origin: origin.as_deref(),
        restores: Some(id),
    };
    let entity = saving
        .save::<T>(&raw, |current| {
            restored_input::<T>(current, &stored.state, asked.version)
        })
        .await?;
    Ok(Json(entity_data(&entity)))
}

/// The update that makes `current` what `state` kept: its editable fields
/// as they were (a field added since, missing from `state`, keeps its
/// value now), based on `version` when the client named one, else on the
/// row's own.
fn restored_input<T: CrudEntity>(
    current: &T,
    state: &Value,
    version: Option<i64>,
) -> Result<T::Update, Error> {
    let meta = T::meta();
    let mut object = to_object(current)?;
    // The fields a client may set (a stamp is always read-only).
    for field in crate::import::columns(meta.fields) {
        if let Some(value) = state.get(field.wire_name) {
            object.insert(field.wire_name.to_owned(), value.clone());
        }
    }
    if let Some(field) = meta.version_field() {
        let based_on = version.or(current.version());
        object.insert(field.wire_name.to_owned(), based_on.into());
    }
    serde_json::from_value(Value::Object(object)).map_err(|e| Error::Unprocessable {
        message: format!(
            "this version of the {} no longer fits its fields: {e}",
            meta.entity
        ),
        fields: Vec::new(),
    })
}
