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

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Aegis;
use crate::auth::User;
use crate::entity::{CrudEntity, FieldKind, FieldMeta, FieldRole, ModuleSettings};
use crate::error::{ApiQuery, Error, NoParams, deserialize_value};
use crate::protocol::{
    EventAction, ImportAccepted, ImportCompleted, ImportJob, ImportProgress, ImportRowError,
    ImportStarted, ImportState,
};
use crate::rows::{allocate_ids, insert_rows};

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

pub(crate) fn router<T: CrudEntity>(settings: ModuleSettings) -> Router<Aegis> {
    let base = format!("/api/{}/import", T::meta().feature);
    Router::new()
        .route(
            &base,
            post(move |state, user, query, request| {
                start::<T>(settings, state, user, query, request)
            }),
        )
        .route(&format!("{base}/template"), get(template::<T>))
        .route(&format!("{base}/{{job}}"), get(status::<T>))
        .layer(DefaultBodyLimit::disable())
}

/// The columns an import reads: the fields a client may set.
fn columns(fields: &'static [FieldMeta]) -> impl Iterator<Item = &'static FieldMeta> {
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

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportParams {
    #[serde(default)]
    dry_run: bool,
}

/// The CSV bytes of a request: its body, or the first file of a multipart form.
async fn read_csv(aegis: &Aegis, request: Request) -> Result<Bytes, Error> {
    let limit = aegis.limits().import_bytes;
    let too_large = || Error::TooLarge(format!("the file is larger than the {limit}-byte limit"));
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let request =
            request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::BadRequest(format!("bad multipart body: {e}")))?;
        while let Some(field) = form.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Error::BadRequest(format!("bad multipart body: {e}"))
            }
        })? {
            if field.file_name().is_some() || field.name() == Some("file") {
                return field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        Error::BadRequest(format!("bad multipart body: {e}"))
                    }
                });
            }
        }
        return Err(Error::BadRequest("the multipart body has no file".into()));
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| too_large())
}

/// Where each CSV column goes.
struct Plan {
    /// Per CSV column, the field it fills.
    fields: Vec<&'static FieldMeta>,
}

fn plan<T: CrudEntity>(headers: &csv::StringRecord) -> Result<Plan, Error> {
    let meta = T::meta();
    let known: Vec<&'static FieldMeta> = columns(meta.fields).collect();
    let mut fields = Vec::new();
    for name in headers {
        let name = name.trim();
        let field = known.iter().find(|f| f.wire_name == name).ok_or_else(|| {
            Error::BadRequest(format!(
                "unknown column `{name}` for {}; expected some of {}",
                meta.feature,
                known
                    .iter()
                    .map(|f| format!("`{}`", f.wire_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if fields.iter().any(|f: &&FieldMeta| f.wire_name == name) {
            return Err(Error::BadRequest(format!("column `{name}` appears twice")));
        }
        fields.push(*field);
    }
    Ok(Plan { fields })
}

/// One CSV cell as the JSON value of its field.
fn cell_value(field: &FieldMeta, text: &str) -> Result<Option<Value>, String> {
    if text.is_empty() && field.kind != FieldKind::Text {
        return Ok(field.nullable.then_some(Value::Null));
    }
    if text.is_empty() && field.nullable {
        return Ok(Some(Value::Null));
    }
    let value = match field.kind {
        FieldKind::Integer => Value::from(
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("`{}` is not a whole number", excerpt(text, CELL_EXCERPT)))?,
        ),
        FieldKind::Float => {
            let number: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not a number", excerpt(text, CELL_EXCERPT)))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| {
                    format!("`{}` is not a finite number", excerpt(text, CELL_EXCERPT))
                })?
        }
        FieldKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "`{}` is not true or false",
                    excerpt(text, CELL_EXCERPT)
                ));
            }
        },
        FieldKind::Text => Value::String(text.to_owned()),
        // JSON text, or else the cell as a string (an enum's variant, say):
        // the field's type has the last word.
        FieldKind::Json => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        }
    };
    Ok(Some(value))
}

/// A row as the entity's create input, or the row's error.
fn parse_row<T: CrudEntity>(
    plan: &Plan,
    record: &csv::StringRecord,
    row: u64,
) -> Result<T::Create, ImportRowError> {
    let mut object = Map::new();
    for (field, text) in plan.fields.iter().zip(record.iter()) {
        match cell_value(field, text) {
            Ok(Some(value)) => {
                object.insert(field.wire_name.to_owned(), value);
            }
            Ok(None) => {}
            Err(message) => {
                return Err(ImportRowError {
                    row,
                    field: Some(field.wire_name.to_owned()),
                    message: excerpt(&message, ROW_ERROR_CHARS),
                });
            }
        }
    }
    let input =
        deserialize_value::<T::Create>(Value::Object(object)).map_err(|(field, message)| {
            // serde quotes what it could not read, at any length.
            ImportRowError {
                row,
                field: (!field.is_empty()).then(|| excerpt(&field, CELL_EXCERPT)),
                message: excerpt(&message, ROW_ERROR_CHARS),
            }
        })?;
    // The row's first field that breaks its rules; a rule's message quotes
    // no cell.
    match crate::rules::field_errors::<T>(&input).into_iter().next() {
        Some(error) => Err(ImportRowError {
            row,
            field: Some(error.field),
            message: error.message,
        }),
        None => Ok(input),
    }
}

/// Refuses, before a job starts, a file that could import nothing: no
/// rows, or no column that every row needs.
fn check_file<T: CrudEntity>(csv: &[u8], plan: &Plan) -> Result<(), Error> {
    let meta = T::meta();
    let missing: Vec<String> = columns(meta.fields)
        .filter(|f| f.required_input && !plan.fields.iter().any(|p| p.name == f.name))
        .map(|f| format!("`{}`", f.wire_name))
        .collect();
    if !missing.is_empty() {
        return Err(Error::BadRequest(format!(
            "the file has no column {}, which every {} needs",
            missing.join(", "),
            meta.entity
        )));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(csv);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(false) => Err(Error::BadRequest(
            "the file has a header but no rows".to_owned(),
        )),
        _ => Ok(()),
    }
}

async fn start<T: CrudEntity>(
    settings: ModuleSettings,
    State(aegis): State<Aegis>,
    user: User,
    ApiQuery(params): ApiQuery<ImportParams>,
    request: Request,
) -> Result<impl IntoResponse, Error> {
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let csv = read_csv(&aegis, request).await?;
    if csv.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(format!(
            "the file is empty; expected a header row ({}) and then rows",
            columns(meta.fields)
                .map(|f| f.wire_name)
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(csv.as_ref());
    let headers = reader
        .headers()
        .map_err(|e| Error::BadRequest(format!("cannot read the CSV header: {e}")))?
        .clone();
    let plan = plan::<T>(&headers)?;
    check_file::<T>(&csv, &plan)?;
    let slot = aegis.claim_import(user.id())?;

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
    tokio::spawn(async move {
        let _slot = slot;
        let mut runner = Runner::<T> {
            aegis,
            settings,
            user: user_id,
            job,
            last_progress: None,
            marker: std::marker::PhantomData,
        };
        if let Err(error) = runner.run(plan, csv).await {
            tracing::error!(%error, job = %runner.job.job_id, "import failed");
            runner.fail(&error.to_string()).await;
        }
    });
    Ok((StatusCode::ACCEPTED, Json(ImportAccepted { job_id })))
}

/// What the parsing thread hands the job.
enum Parsed<C> {
    /// The number of rows, first.
    Total(u64),
    /// The next rows, each an input or its error.
    Slice(Vec<Result<C, ImportRowError>>),
}

/// Counts, then parses, the rows on a blocking thread, a slice at a time;
/// stops when the job stops listening.
fn parse_rows<T: CrudEntity>(
    plan: Plan,
    csv: Bytes,
    slice: usize,
    out: tokio::sync::mpsc::Sender<Parsed<T::Create>>,
) {
    let total = csv::ReaderBuilder::new()
        .from_reader(csv.as_ref())
        .records()
        .count() as u64;
    if out.blocking_send(Parsed::Total(total)).is_err() {
        return;
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_ref());
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    let mut rows = Vec::with_capacity(slice);
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(false) => false,
            Ok(true) => {
                row += 1;
                rows.push(parse_row::<T>(&plan, &record, row));
                true
            }
            Err(error) => {
                row += 1;
                rows.push(Err(ImportRowError {
                    row,
                    field: None,
                    message: excerpt(&format!("unreadable row: {error}"), ROW_ERROR_CHARS),
                }));
                true
            }
        };
        if (rows.len() >= slice || !more) && !rows.is_empty() {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(slice));
            if out.blocking_send(Parsed::Slice(full)).is_err() {
                return;
            }
        }
        if !more {
            return;
        }
    }
}

struct Runner<T> {
    aegis: Aegis,
    settings: ModuleSettings,
    user: String,
    job: ImportJob,
    last_progress: Option<Instant>,
    marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: CrudEntity> Runner<T> {
    async fn event(
        &self,
        action: EventAction,
        payload: &impl serde::Serialize,
    ) -> Result<(), Error> {
        if !self.settings.with_events {
            return Ok(());
        }
        let mut change = self.aegis.change().await?;
        change
            .import_event::<T>(action, payload, &self.user)
            .await?;
        change.commit().await
    }

    fn progress(&self) -> ImportProgress {
        ImportProgress {
            job_id: self.job.job_id.clone(),
            progress: self.job.progress,
            processed_rows: self.job.processed_rows,
            total_rows: self.job.total_rows,
            successful_rows: self.job.successful_rows,
            failed_rows: self.job.failed_rows,
        }
    }

    /// Publishes progress at most every [`PROGRESS_INTERVAL`], and always at the end.
    async fn report(&mut self, last: bool) -> Result<(), Error> {
        self.job.progress = (self.job.processed_rows * 100)
            .checked_div(self.job.total_rows)
            .map_or(100, |percent| percent.min(100) as u8);
        let due = self
            .last_progress
            .is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
        if last || due {
            self.last_progress = Some(Instant::now());
            self.aegis.save_job(&self.job).await?;
            self.event(EventAction::ImportProgress, &self.progress())
                .await?;
        }
        Ok(())
    }

    fn row_error(&mut self, error: ImportRowError) {
        self.job.failed_rows += 1;
        if self.job.errors.len() < self.aegis.limits().import_errors {
            self.job.errors.push(error);
        }
    }

    async fn run(&mut self, plan: Plan, csv: Bytes) -> Result<(), Error> {
        let slice = self.aegis.limits().import_batch.max(1);
        // Two slices in flight: parsing runs ahead of writing, bounded.
        let (sender, mut parsed) = tokio::sync::mpsc::channel(2);
        let parser = tokio::task::spawn_blocking(move || parse_rows::<T>(plan, csv, slice, sender));
        while let Some(next) = parsed.recv().await {
            match next {
                Parsed::Total(total) => {
                    self.job.total_rows = total;
                    self.aegis.save_job(&self.job).await?;
                    self.event(
                        EventAction::ImportStarted,
                        &ImportStarted {
                            job_id: self.job.job_id.clone(),
                            total_rows: total,
                        },
                    )
                    .await?;
                }
                Parsed::Slice(rows) => {
                    let count = rows.len() as u64;
                    let mut valid = Vec::with_capacity(rows.len());
                    for row in rows {
                        match row {
                            Ok(input) => valid.push(input),
                            Err(error) => self.row_error(error),
                        }
                    }
                    self.flush(&mut valid).await?;
                    self.job.processed_rows += count;
                    self.report(false).await?;
                }
            }
        }
        parser
            .await
            .map_err(|e| Error::Internal(format!("the CSV parser stopped: {e}")))?;
        self.report(true).await?;
        self.finish(true).await
    }

    /// Imports (or, in a dry run, only counts) one batch, in one transaction.
    async fn flush(&mut self, batch: &mut Vec<T::Create>) -> Result<(), Error> {
        let count = batch.len() as u64;
        if count == 0 {
            return Ok(());
        }
        if self.job.dry_run {
            batch.clear();
        } else {
            // One counter update and a few multi-row inserts: the writer
            // is held as briefly as the rows allow.
            let db = self.aegis.db().clone();
            let mut tx = db.begin().await?;
            let ids = allocate_ids::<T>(&db, &mut tx, batch.len()).await?;
            let entities: Vec<T> = ids
                .into_iter()
                .zip(batch.drain(..))
                .map(|(id, input)| T::from_create(id, input))
                .collect();
            insert_rows(&db, &mut tx, &entities).await?;
            tx.commit().await?;
        }
        self.job.successful_rows += count;
        Ok(())
    }

    async fn finish(&mut self, success: bool) -> Result<(), Error> {
        self.job.state = if success {
            ImportState::Completed
        } else {
            ImportState::Failed
        };
        // The event goes out before the job reads as finished, so whoever
        // sees the finished job (polling) finds the event already published.
        let published = self
            .event(
                EventAction::ImportCompleted,
                &ImportCompleted {
                    job_id: self.job.job_id.clone(),
                    success,
                    total_rows: self.job.total_rows,
                    successful_rows: self.job.successful_rows,
                    failed_rows: self.job.failed_rows,
                    errors: self.job.errors.clone(),
                },
            )
            .await;
        let saved = self.aegis.save_job(&self.job).await;
        published.and(saved)
    }

    /// The job stopped on an error that is not one row's: what was imported
    /// stays; the job says it failed and why.
    async fn fail(&mut self, message: &str) {
        self.job.errors.push(ImportRowError {
            row: self.job.processed_rows,
            field: None,
            message: format!("the import stopped: {message}"),
        });
        self.job.progress = 100;
        if let Err(error) = self.finish(false).await {
            tracing::error!(%error, "cannot report a failed import");
        }
    }
}
