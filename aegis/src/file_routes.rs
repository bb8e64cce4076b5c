//! A module's file routes, for each of its file fields:
//! `POST /api/<feature>/files/<field>?name=...` takes the bytes (the
//! body), and `GET /api/<feature>/<id>/files/<field>` gives back the file
//! a row holds, to whoever may read that row.

use std::sync::Arc;

use aegis_protocol::StoredFile;
use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::Aegis;
use crate::auth::User;
use crate::crud::readable;
use crate::entity::{CrudEntity, FieldMeta, FileRules};
use crate::error::{ApiQuery, Error};
use crate::files::content::{self, Received};
use crate::files::{fields, parse, sniff, stored};
use crate::hooks::CrudHooks;
use crate::protocol::FieldError;

/// The file routes of `T`, none when it has no file field.
pub(crate) fn router<T: CrudEntity, H: CrudHooks<T>>(hooks: Arc<H>) -> axum::Router<Aegis> {
    let meta = T::meta();
    if fields(meta).next().is_none() {
        return axum::Router::new();
    }
    let feature = meta.feature;
    axum::Router::new()
        .route(
            &format!("/api/{feature}/files/{{field}}"),
            post(upload::<T>).layer(DefaultBodyLimit::disable()),
        )
        .route(
            &format!("/api/{feature}/{{id}}/files/{{field}}"),
            get(move |state, user, path| download::<T, H>(hooks, state, user, path)),
        )
}

/// The file field a path names, by its Rust or its JSON name.
fn file_field<T: CrudEntity>(name: &str) -> Result<(&'static FieldMeta, FileRules), Error> {
    let meta = T::meta();
    fields(meta)
        .find(|f| !f.hidden && (f.name == name || f.wire_name == name))
        .and_then(|f| Some((f, f.file?)))
        .ok_or_else(|| Error::NotFound(format!("{} has no file field `{name}`", meta.feature)))
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct UploadParams {
    /// The file's name, as the uploader's disk has it.
    name: String,
}

fn refused(field: &FieldMeta, message: String) -> Error {
    Error::Unprocessable {
        message: message.clone(),
        fields: vec![FieldError {
            field: field.wire_name.to_owned(),
            message,
        }],
    }
}

fn too_large(field: &FieldMeta, most: u64) -> Error {
    Error::TooLarge(format!(
        "This file is larger than {} takes: at most {}.",
        field.label,
        sniff::human_size(most)
    ))
}

async fn upload<T: CrudEntity>(
    State(aegis): State<Aegis>,
    user: User,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<UploadParams>,
    request: Request,
) -> Result<(StatusCode, Json<StoredFile>), Error> {
    user.require_write(T::meta().feature)?;
    let (field, rules) = file_field::<T>(&name)?;
    if let Some(problem) = sniff::bad_name(&params.name) {
        return Err(refused(field, problem));
    }
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > rules.max_bytes) {
        return Err(too_large(field, rules.max_bytes));
    }
    // Places before a byte is read: uploads beyond them cost nothing.
    let _places = aegis.claim_file_upload(user.id())?;
    let received = receive(request.into_body(), field, rules.max_bytes).await?;
    if let Some(why) = sniff::refused(&rules, field.label, &received.content_type) {
        return Err(refused(field, why));
    }
    let file = StoredFile {
        id: received.id.clone(),
        name: params.name,
        size: received.size,
        content_type: received.content_type.clone(),
    };
    content::put(aegis.files(), received).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

/// The body in a temporary file (unlinked from the start), hashed and
/// counted as it arrives: 413 one byte past `most`, 422 for nothing.
async fn receive(body: Body, field: &FieldMeta, most: u64) -> Result<Received, Error> {
    let failed = |e: std::io::Error| Error::Internal(format!("cannot keep the upload: {e}"));
    let mut file = crate::import::upload::temporary().await?;
    let (mut hash, mut head, mut size) = (Sha256::new(), Vec::new(), 0u64);
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("cannot read the body: {e}")))?;
        size += chunk.len() as u64;
        if size > most {
            return Err(too_large(field, most));
        }
        let wanted = sniff::HEAD_BYTES
            .saturating_sub(head.len())
            .min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hash.update(&chunk);
        file.write_all(&chunk).await.map_err(failed)?;
    }
    if size == 0 {
        return Err(refused(field, "This file is empty.".into()));
    }
    file.flush().await.map_err(failed)?;
    let id = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Received {
        file,
        id,
        size,
        content_type: sniff::content_type(&head),
    })
}

async fn download<T: CrudEntity, H: CrudHooks<T>>(
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    Path((raw, name)): Path<(String, String)>,
) -> Result<Response, Error> {
    let meta = T::meta();
    user.require_read(meta.feature)?;
    let (field, _) = file_field::<T>(&name)?;
    let data = readable::<T, H>(&aegis, &*hooks, &user, &raw).await?;
    let no_file = || {
        Error::NotFound(format!(
            "the {} `{raw}` has no {}",
            meta.entity,
            field.label.to_lowercase()
        ))
    };
    let file = data
        .get(field.wire_name)
        .and_then(parse)
        .ok_or_else(no_file)?;
    let record = stored(aegis.db(), aegis.db().read_pool(), &file.id)
        .await?
        .ok_or_else(no_file)?;
    let bytes = content::open(aegis.files(), &file.id, &record).await?;
    response(
        &file,
        record.size,
        &record.content_type,
        Body::from_stream(bytes),
    )
}

/// A download: its type, its length, and never run by the browser.
fn response(
    file: &StoredFile,
    size: u64,
    content_type: &str,
    body: Body,
) -> Result<Response, Error> {
    let header = |value: String| {
        HeaderValue::from_str(&value)
            .map_err(|e| Error::Internal(format!("cannot send a header `{value}`: {e}")))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header(content_type.to_owned())?);
    headers.insert(header::CONTENT_LENGTH, header(size.to_string())?);
    headers.insert(
        header::CONTENT_DISPOSITION,
        header(sniff::disposition(&file.name, content_type))?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::ETAG, header(format!("\"{}\"", file.id))?);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}
