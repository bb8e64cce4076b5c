//! CSV import jobs: `POST /api/<feature>/import` (a `text/csv` body or a
//! multipart file) answers 202 with a job id once the header is checked
//! (every column known, every required one there, at least one row); a
//! user may run [`Limits::imports_per_user`] at once (429 beyond).
//!
//! The job never holds the server: a blocking thread counts the rows, then
//! parses them in slices of [`Limits::import_batch`] rows, handed over a
//! small channel; the job writes each slice's valid rows in one short
//! transaction, counts every row processed (valid or not), keeps the first
//! errors (each quoting at most a short excerpt of its cell, so a job's
//! status and its `import_completed` frame stay small whatever the file),
//! and reports progress as events (throttled, ending at 100) and at
//! `GET /import/{jobId}`. `?dryRun=true` validates only; nothing is written.
//!
//! [`Limits::imports_per_user`]: crate::Limits::imports_per_user
//! [`Limits::import_batch`]: crate::Limits::import_batch

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::Aegis;
use crate::auth::User;
use crate::entity::{CrudEntity, FieldMeta, FieldRole, ModuleSettings};
use crate::error::{ApiQuery, Error, NoParams};
use crate::hooks::CrudHooks;
use crate::protocol::{ImportAccepted, ImportJob, ImportState};

mod parse;
mod runner;
pub(crate) mod upload;

use parse::{Plan, check_file, plan};
use runner::Runner;
use upload::Upload;

/// Progress events at most this often (the last one always goes).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// The most of a cell a row error quotes, in characters.
const CELL_EXCERPT: usize = 40;

/// The longest row error message, in characters: with
/// [`crate::Limits::import_errors`] (100) errors, a job's status and its
/// `import_completed` frame stay under 64 KiB.
pub const ROW_ERROR_CHARS: usize = 240;

/// `text`, or its first characters and an ellipsis.
fn excerpt(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

pub(crate) fn router<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
) -> Router<Aegis> {
    let base = format!("/api/{}/import", T::meta().feature);
    Router::new()
        .route(
            &base,
            post(move |state, user, query, request| {
                start::<T, H>(settings, hooks, state, user, query, request)
            }),
        )
        .route(&format!("{base}/template"), get(template::<T>))
        .route(&format!("{base}/{{job}}"), get(status::<T>))
        .layer(DefaultBodyLimit::disable())
}

/// The columns an import reads: the fields a client may set.
pub(crate) fn columns(fields: &'static [FieldMeta]) -> impl Iterator<Item = &'static FieldMeta> {
    fields
        .iter()
        .filter(|f| f.role == FieldRole::Data && !f.readonly && !f.hidden)
}

async fn template<T: CrudEntity>(
    user: User,
    _: ApiQuery<NoParams>,
) -> Result<impl IntoResponse, Error> {
    user.require_read(T::meta().feature)?;
    let header_row = columns(T::meta().fields)
        .map(|f| f.wire_name)
        .collect::<Vec<_>>()
        .join(",");
    Ok((
        [(header::CONTENT_TYPE, "text/csv")],
        format!("{header_row}\n"),
    ))
}

async fn status<T: CrudEntity>(
    State(aegis): State<Aegis>,
    user: User,
    Path(job): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<ImportJob>, Error> {
    user.require_read(T::meta().feature)?;
    aegis
        .job(&job)
        .await?
        .filter(|j| {
            // Job ids are `<feature>-<uuid>`: another feature's job is not found here.
            j.job_id
                .strip_prefix(T::meta().feature)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .map(Json)
        .ok_or_else(|| Error::NotFound(format!("no import job `{job}`")))
}

/// The upload's header read into a plan, and the file checked to hold a
/// row and every column a row needs; the file, from its start.
fn checked<T: CrudEntity>(mut upload: Upload) -> Result<(Plan, std::fs::File), Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(std::io::BufReader::new(upload.rewound()?));
    let headers = reader
        .headers()
        .map_err(|e| Error::BadRequest(format!("cannot read the CSV header: {e}")))?
        .clone();
    let plan = plan::<T>(&headers)?;
    check_file::<T, _>(&mut reader, &plan)?;
    Ok((plan, upload.into_file()?))
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportParams {
    #[serde(default)]
    dry_run: bool,
}

async fn start<T: CrudEntity, H: CrudHooks<T>>(
    settings: ModuleSettings,
    hooks: Arc<H>,
    State(aegis): State<Aegis>,
    user: User,
    ApiQuery(params): ApiQuery<ImportParams>,
    request: Request,
) -> Result<impl IntoResponse, Error> {
    let meta = T::meta();
    user.require_write(meta.feature)?;
    // The user's place and the room for the file, before a byte is read:
    // uploads beyond them cost nothing.
    let slot = aegis.claim_import(user.id())?;
    let limits = aegis.limits();
    let room = aegis.claim_upload_room(upload::announced_size(&request))?;
    let upload = upload::receive(request, limits.import_bytes).await?;
    if upload.blank {
        return Err(Error::BadRequest(format!(
            "the file is empty; expected a header row ({}) and then rows",
            columns(meta.fields)
                .map(|f| f.wire_name)
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    let (plan, file) = tokio::task::spawn_blocking(move || checked::<T>(upload))
        .await
        .map_err(|e| Error::Internal(format!("the CSV check stopped: {e}")))??;

    let job_id = format!("{}-{}", meta.feature, uuid::Uuid::new_v4());
    let job = ImportJob {
        job_id: job_id.clone(),
        state: ImportState::Running,
        dry_run: params.dry_run,
        progress: 0,
        processed_rows: 0,
        // Counted by the job, off the request.
        total_rows: 0,
        successful_rows: 0,
        failed_rows: 0,
        errors: Vec::new(),
    };
    aegis.forget_old_jobs().await?;
    aegis.save_job(&job).await?;
    let user_id = user.id().to_owned();
    let access = hooks.read_filter(&user);
    let sight = aegis.sight::<T>(&user);
    let tracked = aegis.track();
    tokio::spawn(async move {
        // A graceful stop waits until this job has reported how it ended.
        let _tracked = tracked;
        let (_slot, _room) = (slot, room);
        let mut runner = Runner::<T, H> {
            aegis,
            settings,
            hooks,
            known_targets: std::collections::HashMap::new(),
            user: user_id,
            access,
            sight,
            job,
            last_progress: None,
            marker: std::marker::PhantomData,
        };
        if let Err(error) = runner.run(plan, file).await {
            tracing::error!(%error, job = %runner.job.job_id, "import failed");
            // The job and its event are read by clients: the details
            // of a failure inside the server stay in the log above.
            runner.fail(&error.public_message()).await;
        }
    });
    Ok((StatusCode::ACCEPTED, Json(ImportAccepted { job_id })))
}
