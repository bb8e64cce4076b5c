//! The generic REST router of one entity (the README's "The runtime"), under
//! `/api/<feature>`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;

use crate::Aegis;
use crate::auth::User;
use crate::entity::{CrudEntity, FieldKind, FieldMeta, ModuleSettings};
use crate::error::{ApiQuery, Error, NoParams, deserialize_input};
use crate::events::entity_data;
use crate::hooks::{CrudHooks, HookContext, NoHooks};
use crate::log::current_seq;
use crate::protocol::{EventAction, ListResponse, MUTATION_ID_HEADER};
use crate::rows::{
    allocate_id, delete_row, fetch_row, from_object, id_value, insert_row, to_object, update_row,
};
use crate::stamp::{Moment, stamp};
use crate::store::{Db, SEARCH_COLUMN, searchable};

/// The routes of `T`, with `settings` deciding events and import, and
/// `hooks` run around every change.
pub fn router<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
) -> Router<Aegis> {
    let feature = T::meta().feature;
    let base = format!("/api/{feature}");
    let (on_create, on_update, on_delete) = (hooks.clone(), hooks.clone(), hooks.clone());
    let mut router = Router::new()
        .route(
            &base,
            get(move |state, user, query| list::<T>(settings, state, user, query)).post(
                move |state, user, query, headers, body| {
                    create::<T, H>(settings, on_create, state, user, query, headers, body)
                },
            ),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(get_one::<T>)
                .put(move |state, user, path, query, headers, body| {
                    let change = Request {
                        settings,
                        hooks: on_update,
                        state,
                        user,
                        headers,
                    };
                    update::<T, H>(change, path, query, body)
                })
                .delete(move |state, user, path, query, headers| {
                    let change = Request {
                        settings,
                        hooks: on_delete,
                        state,
                        user,
                        headers,
                    };
                    delete::<T, H>(change, path, query)
                }),
        );
    if settings.with_import {
        router = router.merge(crate::import::router::<T, H>(settings, hooks));
    }
    router
}

/// What every changing request carries besides its own parts.
struct Request<H> {
    settings: ModuleSettings,
    hooks: Arc<H>,
    state: State<Aegis>,
    user: User,
    headers: HeaderMap,
}

fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(MUTATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The id in a path, as the entity's id type.
pub(crate) fn parse_id<T: CrudEntity>(raw: &str) -> Result<T::Id, Error> {
    serde_json::from_str::<T::Id>(raw)
        .or_else(|_| serde_json::from_value::<T::Id>(Value::String(raw.to_owned())))
        .map_err(|_| Error::NotFound(format!("no {} with id `{raw}`", T::meta().entity)))
}

/// `?page=&pageSize=&sort=&q=`; any other parameter is refused.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// A field's JSON name, `-name` for descending.
    pub sort: Option<String>,
    /// Text to find in any text field.
    pub q: Option<String>,
}

/// The field `name` (its JSON name) when the list sorts by it: one the
/// settings list, or without a list, one sent and not stored as JSON.
fn sortable(
    meta: &crate::entity::ModuleMeta,
    settings: &ModuleSettings,
    name: &str,
) -> Option<&'static FieldMeta> {
    let field = meta
        .fields
        .iter()
        .find(|f| f.wire_name == name && !f.hidden)?;
    let sorts = match settings.sortable {
        Some(listed) => listed.contains(&name),
        None => field.kind != FieldKind::Json,
    };
    sorts.then_some(field)
}

/// What a list orders by for `field`: the column, or for a point in time
/// the time it stands for (RFC 3339 text does not sort as time).
fn sort_key(db: &Db, field: &FieldMeta) -> String {
    let column = db.ident(field.name);
    match (field.instant, db.dialect()) {
        (false, _) => column,
        (true, crate::store::Dialect::Sqlite) => format!("julianday({column})"),
        (true, crate::store::Dialect::Postgres) => format!("CAST({column} AS TIMESTAMPTZ)"),
    }
}

async fn list<T: CrudEntity>(
    settings: ModuleSettings,
    State(aegis): State<Aegis>,
    user: User,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ListResponse<Value>>, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let db = aegis.db();
    let page = params.page.unwrap_or(1).max(1);
    let page_size = params
        .page_size
        .unwrap_or(20)
        .clamp(1, aegis.limits().max_page_size);

    let order = match params.sort.as_deref().filter(|s| !s.is_empty()) {
        None => format!("{} ASC", db.ident(meta.id_field().name)),
        Some(sort) => {
            let (name, direction) = match sort.strip_prefix('-') {
                Some(name) => (name, "DESC"),
                None => (sort, "ASC"),
            };
            let field = sortable(meta, &settings, name).ok_or_else(|| {
                let sortable: Vec<String> = meta
                    .fields
                    .iter()
                    .filter(|f| sortable(meta, &settings, f.wire_name).is_some())
                    .map(|f| format!("`{}`", f.wire_name))
                    .collect();
                Error::BadRequest(format!(
                    "cannot sort {} by `{name}`; it sorts by {}",
                    meta.feature,
                    sortable.join(", ")
                ))
            })?;
            format!(
                "{} {direction}, {} ASC",
                sort_key(db, field),
                db.ident(meta.id_field().name)
            )
        }
    };
    // Line breaks separate the fields in the search column: not text to find.
    let q: Option<String> = params
        .q
        .as_deref()
        .map(|q| q.replace(char::is_control, " "));
    let search = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let max_search = aegis.limits().max_search_chars;
    if search.is_some_and(|q| q.chars().count() > max_search) {
        return Err(Error::BadRequest(format!(
            "the search text is longer than {max_search} characters"
        )));
    }
    let has_text = searchable(meta).next().is_some();
    let filter = match search {
        Some(_) if has_text => format!(
            " WHERE {} LIKE {} ESCAPE '\\'",
            db.ident(SEARCH_COLUMN),
            db.param(1)
        ),
        Some(_) => " WHERE 1 = 0".to_owned(),
        None => String::new(),
    };
    // The text itself, not a pattern: `%`, `_` and the escape are escaped.
    let pattern = search.map(|q| {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });

    // One snapshot, so the page, the total and the seq agree.
    let mut tx = db.begin_snapshot().await?;
    let count_sql = format!("SELECT COUNT(*) FROM {}{filter}", db.ident(meta.module));
    let mut count = sqlx::query(&count_sql);
    if let Some(pattern) = &pattern {
        count = count.bind(pattern.clone());
    }
    let total: i64 = count.fetch_one(&mut *tx).await?.try_get(0)?;
    let offset = u64::from(page - 1) * u64::from(page_size);
    let select_sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {order} LIMIT {page_size} OFFSET {offset}",
        db.column_list(meta),
        db.ident(meta.module),
    );
    let mut select = sqlx::query(&select_sql);
    if let Some(pattern) = &pattern {
        select = select.bind(pattern.clone());
    }
    let rows = select.fetch_all(&mut *tx).await?;
    let seq = current_seq(db, &mut tx, meta.feature).await?;
    tx.commit().await?;

    let data = rows
        .iter()
        .map(|row| {
            let entity: T = from_object(db.read_row(row, meta)?)?;
            Ok(entity_data(&entity))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Json(ListResponse {
        data,
        total: total as u64,
        page,
        page_size,
        seq,
    }))
}

async fn get_one<T: CrudEntity>(
    State(aegis): State<Aegis>,
    user: User,
    Path(raw): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Value>, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let id = parse_id::<T>(&raw)?;
    let mut tx = aegis.db().begin_snapshot().await?;
    let entity = fetch_row::<T>(aegis.db(), &mut tx, &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no {} with id `{raw}`", meta.entity)))?;
    tx.commit().await?;
    Ok(Json(entity_data(&entity)))
}

/// Creates an entity as the REST `POST` does — its rules checked (422), id,
/// stamps, row and, with events, its `created` event — for hand-written
/// code such as seeding. It runs no hooks.
pub async fn insert<T: CrudEntity>(
    aegis: &Aegis,
    settings: ModuleSettings,
    input: T::Create,
    user: &str,
    origin: Option<&str>,
) -> Result<T, Error> {
    create_entity::<T, NoHooks>(aegis, settings, &NoHooks, input, user, origin).await
}

async fn create_entity<T: CrudEntity, H: CrudHooks<T>>(
    aegis: &Aegis,
    settings: ModuleSettings,
    hooks: &H,
    input: T::Create,
    user: &str,
    origin: Option<&str>,
) -> Result<T, Error> {
    crate::rules::check::<T>(&input)?;
    let db = aegis.db();
    let mut change = aegis.change().await?;
    let id = allocate_id::<T>(db, change.tx()).await?;
    let mut entity = T::from_create(id, input);
    stamp(&mut entity, Moment::Created, user, chrono::Utc::now())?;
    hooks
        .before_create(&mut HookContext::new(user, db, change.tx()), &mut entity)
        .await?;
    aegis
        .relations()
        .check_targets(db, change.tx(), T::meta(), &to_object(&entity)?)
        .await?;
    insert_row(db, change.tx(), &entity).await?;
    if settings.with_events {
        change
            .entity_event(EventAction::Created, &entity, user, origin)
            .await?;
    }
    change.commit().await?;
    hooks
        .after_commit(user, EventAction::Created, &entity)
        .await;
    Ok(entity)
}

/// How many entities the module has.
pub async fn count<T: CrudEntity>(aegis: &Aegis) -> Result<u64, Error> {
    let db = aegis.db();
    let sql = format!("SELECT COUNT(*) FROM {}", db.ident(T::meta().module));
    let row = sqlx::query(&sql).fetch_one(db.read_pool()).await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

async fn create<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    _: ApiQuery<NoParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    user.require_write(T::meta().feature)?;
    let input: T::Create = deserialize_input(&body)?;
    let entity = create_entity::<T, H>(
        &aegis,
        settings,
        &*hooks,
        input,
        user.id(),
        origin(&headers).as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(entity_data(&entity))).into_response())
}

async fn update<T: CrudEntity, H: CrudHooks<T>>(
    request: Request<H>,
    Path(raw): Path<String>,
    _: ApiQuery<NoParams>,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    let Request {
        settings,
        hooks,
        state: State(aegis),
        user,
        headers,
    } = request;
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let id = parse_id::<T>(&raw)?;
    let input: T::Update = deserialize_input(&body)?;
    crate::rules::check::<T>(&input)?;
    let db = aegis.db();
    let mut change = aegis.change().await?;
    let mut entity = fetch_row::<T>(db, change.tx(), &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no {} with id `{raw}`", meta.entity)))?;
    let stale = |current: &T| Error::Conflict {
        message: format!(
            "this {} was changed by someone else; here it is as it is now",
            meta.entity
        ),
        current: entity_data(current),
    };
    let base_version = T::update_version(&input);
    if base_version.is_some() && base_version != entity.version() {
        return Err(stale(&entity));
    }
    let before = entity.clone();
    entity.apply_update(input);
    if let Some(version) = base_version {
        entity.set_version(version + 1);
    }
    stamp(&mut entity, Moment::Updated, user.id(), chrono::Utc::now())?;
    hooks
        .before_update(
            &mut HookContext::new(user.id(), db, change.tx()),
            &before,
            &mut entity,
        )
        .await?;
    let (old, mut new) = (to_object(&before)?, to_object(&entity)?);
    // Only the references that changed: the others were checked when set.
    new.retain(|key, value| old.get(key) != Some(value));
    aegis
        .relations()
        .check_targets(db, change.tx(), meta, &new)
        .await?;

    if !update_row(db, change.tx(), &entity, base_version).await? {
        // Another writer got there between our read and our write.
        let current = fetch_row::<T>(db, change.tx(), &id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no {} with id `{raw}`", meta.entity)))?;
        return Err(stale(&current));
    }
    if settings.with_events {
        change
            .entity_event(
                EventAction::Updated,
                &entity,
                user.id(),
                origin(&headers).as_deref(),
            )
            .await?;
    }
    change.commit().await?;
    hooks
        .after_commit(user.id(), EventAction::Updated, &entity)
        .await;
    Ok(Json(entity_data(&entity)))
}

async fn delete<T: CrudEntity, H: CrudHooks<T>>(
    request: Request<H>,
    Path(raw): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<StatusCode, Error> {
    let Request {
        settings,
        hooks,
        state: State(aegis),
        user,
        headers,
    } = request;
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let id = parse_id::<T>(&raw)?;
    let db = aegis.db();
    let mut change = aegis.change().await?;
    let not_found = || Error::NotFound(format!("no {} with id `{raw}`", meta.entity));
    let entity = fetch_row::<T>(db, change.tx(), &id)
        .await?
        .ok_or_else(not_found)?;
    hooks
        .before_delete(&mut HookContext::new(user.id(), db, change.tx()), &entity)
        .await?;
    let origin = origin(&headers);
    aegis
        .relations()
        .before_delete(
            db,
            &mut change,
            meta,
            &id_value::<T>(&id)?,
            user.id(),
            origin.as_deref(),
        )
        .await?;
    if !delete_row::<T>(db, change.tx(), &id).await? {
        return Err(not_found());
    }
    if settings.with_events {
        change
            .deleted_event::<T>(&id, user.id(), origin.as_deref())
            .await?;
    }
    change.commit().await?;
    hooks
        .after_commit(user.id(), EventAction::Deleted, &entity)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
