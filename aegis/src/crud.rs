//! The generic REST router of one entity (the README's "The runtime"), under
//! `/api/<feature>`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

use serde_json::Value;
use sqlx::Row;

use crate::Aegis;
use crate::access::{RowFilter, check_readable};
use crate::auth::User;
use crate::creates::{Create, Creates, create_entity};
use crate::entity::{CrudEntity, ModuleSettings};
use crate::error::{ApiQuery, Error, NoParams, deserialize_input};
use crate::events::entity_data;
use crate::hooks::{CrudHooks, HookContext, NoHooks};
use crate::log::Change;
use crate::protocol::{EventAction, ListResponse, MUTATION_ID_HEADER};
use crate::query::{Reads, View};
use crate::reads::ViewRead;
use crate::relations::{AfterCommit, Touch};
use crate::rows::{delete_row, fetch_row, from_object, id_value, to_object, update_row};
use crate::stamp::{Moment, stamp};

/// The routes of `T`, with `settings` deciding events and import, and
/// `hooks` run around every change.
pub fn router<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
) -> Router<Aegis> {
    let feature = T::meta().feature;
    let base = format!("/api/{feature}");
    let (on_update, on_delete) = (hooks.clone(), hooks.clone());
    let (on_list, on_get) = (hooks.clone(), hooks.clone());
    let creates = Creates::new(settings, hooks.clone());
    let mut router = Router::new()
        .route(
            &base,
            get(move |state, user, query| list::<T, H>(settings, on_list, state, user, query))
                .post(move |state, user, query, headers, body| {
                    create::<T, H>(creates, state, user, query, headers, body)
                }),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |state, user, path, query| get_one::<T, H>(on_get, state, user, path, query))
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

/// The request's client mutation id (`x-aegis-mutation-id`), if any.
pub(crate) fn origin(headers: &HeaderMap) -> Option<String> {
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

async fn list<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    uri: Uri,
) -> Result<Json<ListResponse<Value>>, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let limits = aegis.limits();
    let mut view = View::parse(meta, &settings, uri.query(), Reads::Page, &limits)?;
    view.restrict(meta, hooks.read_filter(&user).as_ref())?;
    let db = aegis.db();
    let page = view.page.unwrap_or(1).max(1);
    let page_size = view
        .page_size
        .unwrap_or(crate::protocol::DEFAULT_PAGE_SIZE)
        .clamp(1, limits.max_page_size);
    let selection = view.selection(db, meta);
    let filter = &selection.where_clause;

    // One snapshot, so the page, the total and the seq agree; its reads
    // are a client's to shape, so they have a time.
    let mut read = ViewRead::begin(&aegis, user.id(), limits.statement_timeout).await?;
    let count_sql = format!("SELECT COUNT(*) FROM {}{filter}", db.ident(meta.module));
    let total = read.count(&count_sql, &selection).await?;
    let offset = u64::from(page - 1) * u64::from(page_size);
    let select_sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {} LIMIT {page_size} OFFSET {offset}",
        db.column_list(meta),
        db.ident(meta.module),
        selection.order_by,
    );
    let rows = read.objects(&select_sql, &selection, meta).await?;
    let seq = read.current_seq(meta.feature).await?;
    read.finish().await?;

    let data = rows
        .into_iter()
        .map(|row| {
            let entity: T = from_object(row)?;
            Ok(entity_data(&entity))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Json(ListResponse {
        data,
        total,
        page,
        page_size,
        seq,
    }))
}

async fn get_one<T: CrudEntity, H: CrudHooks<T>>(
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    Path(raw): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Value>, Error> {
    user.require_read(T::meta().feature)?;
    Ok(Json(readable::<T, H>(&aegis, &*hooks, &user, &raw).await?))
}

/// The row whose id is `raw`, as its JSON, if `user` may read it: a 404
/// for none, and for one the read filter keeps from them (as for none).
pub(crate) async fn readable<T: CrudEntity, H: CrudHooks<T>>(
    aegis: &Aegis,
    hooks: &H,
    user: &User,
    raw: &str,
) -> Result<Value, Error> {
    let id = parse_id::<T>(raw)?;
    let not_found = || Error::NotFound(format!("no {} with id `{raw}`", T::meta().entity));
    let mut tx = aegis.db().begin_snapshot().await?;
    let entity = fetch_row::<T>(aegis.db(), &mut tx, &id)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    let data = entity_data(&entity);
    check_readable(hooks.read_filter(user).as_ref(), &data, not_found)?;
    Ok(data)
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
    crate::rules::check::<T>(&input)?;
    let create = Create {
        input,
        user: user.to_owned(),
        origin: origin.map(str::to_owned),
        access: None,
        sight: None,
    };
    create_entity::<T, NoHooks>(aegis, settings, &NoHooks, &create).await
}

/// How many entities the module has.
pub async fn count<T: CrudEntity>(aegis: &Aegis) -> Result<u64, Error> {
    let db = aegis.db();
    let sql = format!("SELECT COUNT(*) FROM {}", db.ident(T::meta().module));
    let row = sqlx::query(&sql).fetch_one(db.read_pool()).await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

async fn create<T: CrudEntity, H: CrudHooks<T>>(
    creates: Arc<Creates<T, H>>,
    State(aegis): State<Aegis>,
    user: User,
    _: ApiQuery<NoParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    user.require_write(T::meta().feature)?;
    let input: T::Create = deserialize_input(&body)?;
    let create = Create {
        input,
        user: user.id().to_owned(),
        origin: origin(&headers),
        access: creates.hooks().read_filter(&user),
        sight: aegis.sight::<T>(&user),
    };
    let entity = creates.create(&aegis, create).await?;
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
    user.require_write(T::meta().feature)?;
    let input: T::Update = deserialize_input(&body)?;
    // Refused before the write begins (the save checks it again, for a
    // restore's input).
    crate::rules::check::<T>(&input)?;
    let origin = origin(&headers);
    let saving = Saving {
        aegis: &aegis,
        settings,
        hooks: &*hooks,
        user: &user,
        origin: origin.as_deref(),
        restores: None,
    };
    let entity = saving.save::<T>(&raw, |_| Ok(input)).await?;
    Ok(Json(entity_data(&entity)))
}

/// Who saves a row, from where: a `PUT`, or a restore of an older version
/// ([`crate::history`]), one path for both.
pub(crate) struct Saving<'a, H> {
    pub aegis: &'a Aegis,
    pub settings: ModuleSettings,
    pub hooks: &'a H,
    pub user: &'a User,
    pub origin: Option<&'a str>,
    /// The history entry whose version the save writes back.
    pub restores: Option<u64>,
}

impl<H> Saving<'_, H> {
    /// Saves the row whose id is `raw` with the input `input` makes of it
    /// as it is now (read in the save's transaction): its rules, the
    /// version it is based on (a 409 for another), the stamps, the
    /// `before_update` hook, access and references checked, the row, its
    /// history entry and its event, then `after_commit`.
    pub async fn save<T: CrudEntity>(
        &self,
        raw: &str,
        input: impl FnOnce(&T) -> Result<T::Update, Error>,
    ) -> Result<T, Error>
    where
        H: CrudHooks<T>,
    {
        let (meta, db, user) = (T::meta(), self.aegis.db(), self.user);
        let id = parse_id::<T>(raw)?;
        let mut change = self.aegis.change().await?;
        let not_found = || Error::NotFound(format!("no {} with id `{raw}`", meta.entity));
        let mut entity = fetch_row::<T>(db, change.tx(), &id)
            .await?
            .ok_or_else(not_found)?;
        let access = self.hooks.read_filter(user);
        check_readable(access.as_ref(), &entity_data(&entity), not_found)?;
        let input = input(&entity)?;
        crate::rules::check::<T>(&input)?;
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
        self.hooks
            .before_update(
                &mut HookContext::new(user.id(), db, change.tx()),
                &before,
                &mut entity,
            )
            .await?;
        crate::access::check_changeable(access.as_ref(), &entity)?;
        check_changed_references(self.aegis, user, change.tx(), &before, &entity).await?;
        if !update_row(db, change.tx(), &entity, base_version).await? {
            // Another writer got there between our read and our write.
            let current = fetch_row::<T>(db, change.tx(), &id)
                .await?
                .ok_or_else(not_found)?;
            return Err(stale(&current));
        }
        if self.settings.with_history {
            let pair = (&before, &entity);
            crate::history::updated(db, change.tx(), pair, user.id(), self.restores).await?;
        }
        if self.settings.with_events {
            change
                .entity_event(EventAction::Updated, &entity, user.id(), self.origin)
                .await?;
        }
        change.commit().await?;
        self.hooks
            .after_commit(user.id(), EventAction::Updated, &entity)
            .await;
        Ok(entity)
    }
}

/// The 409 of a save based on another version than `current`'s.
fn stale<T: CrudEntity>(current: &T) -> Error {
    Error::Conflict {
        message: format!(
            "this {} was changed by someone else; here it is as it is now",
            T::meta().entity
        ),
        current: entity_data(current),
    }
}

/// A 422 for a reference that `after` changes to a row that does not
/// exist or `user` may not read, or an id it adds to a list of links; the
/// others were checked when set (a link to a row the user no longer reads
/// does not stop them saving the rest).
async fn check_changed_references<T: CrudEntity>(
    aegis: &Aegis,
    user: &User,
    tx: &mut crate::store::Tx,
    before: &T,
    after: &T,
) -> Result<(), Error> {
    let (old, mut new) = (to_object(before)?, to_object(after)?);
    new.retain(|key, value| old.get(key) != Some(value));
    for field in crate::links::fields(T::meta()) {
        if let (Some(Value::Array(added)), Some(Value::Array(kept))) =
            (new.get_mut(field.wire_name), old.get(field.wire_name))
        {
            added.retain(|id| !kept.contains(id));
        }
    }
    let sight = aegis.sight::<T>(user);
    aegis
        .relations()
        .check_targets(aegis.db(), tx, T::meta(), &new, sight.as_ref())
        .await
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
    user.require_write(T::meta().feature)?;
    let id = parse_id::<T>(&raw)?;
    let mut change = aegis.change().await?;
    let origin = origin(&headers);
    let access = hooks.read_filter(&user);
    let deleting = DeleteRequest {
        aegis: &aegis,
        settings,
        user: &user,
        origin: origin.as_deref(),
        access: access.as_ref(),
    };
    let (entity, touched) = deleting.delete(&*hooks, &mut change, &id).await?;
    change.commit().await?;
    hooks
        .after_commit(user.id(), EventAction::Deleted, &entity)
        .await;
    for after in touched {
        after().await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Who deletes rows, from where: one request's deletes, each in the
/// caller's change.
pub(crate) struct DeleteRequest<'a> {
    pub aegis: &'a Aegis,
    pub settings: ModuleSettings,
    pub user: &'a User,
    pub origin: Option<&'a str>,
    /// The rows the user may read: any other is not found.
    pub access: Option<&'a RowFilter>,
}

impl DeleteRequest<'_> {
    /// Deletes the row `id` of `T` in `change`: its hook, the references
    /// to it released (or a 409), the row, its event. Returns what it was,
    /// and the `after_commit` hooks of the rows its references touched.
    pub async fn delete<T: CrudEntity, H: CrudHooks<T>>(
        &self,
        hooks: &H,
        change: &mut Change,
        id: &T::Id,
    ) -> Result<(T, Vec<AfterCommit>), Error> {
        let meta = T::meta();
        let db = self.aegis.db();
        let not_found = || {
            let id = serde_json::to_string(id).unwrap_or_default();
            Error::NotFound(format!(
                "no {} with id `{}`",
                meta.entity,
                id.trim_matches('"')
            ))
        };
        let entity = fetch_row::<T>(db, change.tx(), id)
            .await?
            .ok_or_else(not_found)?;
        let data = entity_data(&entity);
        check_readable(self.access, &data, not_found)?;
        let user = self.user.id();
        hooks
            .before_delete(&mut HookContext::new(user, db, change.tx()), &entity)
            .await?;
        let touch = Touch {
            db,
            user: self.user,
            origin: self.origin,
        };
        let cap = self.aegis.limits().cascade_rows;
        let touched = self
            .aegis
            .relations()
            .before_delete(touch, change, meta, &id_value::<T>(id)?, cap)
            .await?;
        if !delete_row::<T>(db, change.tx(), id).await? {
            return Err(not_found());
        }
        if self.settings.with_history {
            crate::history::deleted(db, change.tx(), &entity, user).await?;
        }
        if self.settings.with_events {
            change
                .deleted_entity_event(&entity, user, self.origin)
                .await?;
        }
        Ok((entity, touched))
    }
}
