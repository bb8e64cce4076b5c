//! CSV import jobs: `POST /api/<feature>/import` (a `text/csv` body or a
//! multipart file) answers 202 with a job id once the header is checked;
//! the job then parses row by row, imports valid rows in batches (one
//! transaction each), keeps the first errors, and reports progress as
//! events (throttled, ending at 100) and at `GET /import/{jobId}`.
//! `?dryRun=true` validates only; nothing is written.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Aegis;
use crate::auth::User;
use crate::crud::{allocate_id, insert_row};
use crate::entity::{CrudEntity, FieldKind, FieldMeta, FieldRole, ModuleSettings};
use crate::error::{Error, deserialize_value};
use crate::protocol::{
    EventAction, ImportAccepted, ImportCompleted, ImportJob, ImportProgress, ImportRowError,
    ImportStarted, ImportState,
};

/// Progress events at most this often (the last one always goes).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

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

async fn template<T: CrudEntity>(user: User) -> Result<impl IntoResponse, Error> {
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
#[serde(rename_all = "camelCase")]
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
                .map_err(|_| format!("`{text}` is not a whole number"))?,
        ),
        FieldKind::Float => {
            let number: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| format!("`{text}` is not a finite number"))?
        }
        FieldKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => return Err(format!("`{text}` is not true or false")),
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
                    message,
                });
            }
        }
    }
    deserialize_value::<T::Create>(Value::Object(object)).map_err(|(field, message)| {
        ImportRowError {
            row,
            field: (!field.is_empty()).then_some(field),
            message,
        }
    })
}

async fn start<T: CrudEntity>(
    settings: ModuleSettings,
    State(aegis): State<Aegis>,
    user: User,
    Query(params): Query<ImportParams>,
    request: Request,
) -> Result<impl IntoResponse, Error> {
    let meta = T::meta();
    user.require_write(meta.feature)?;
    let csv = read_csv(&aegis, request).await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(csv.as_ref());
    let headers = reader
        .headers()
        .map_err(|e| Error::BadRequest(format!("cannot read the CSV header: {e}")))?
        .clone();
    let plan = plan::<T>(&headers)?;
    // A first pass counts the rows, without keeping them.
    let total_rows = reader.records().count() as u64;

    let job_id = format!("{}-{}", meta.feature, uuid::Uuid::new_v4());
    let job = ImportJob {
        job_id: job_id.clone(),
        state: ImportState::Running,
        dry_run: params.dry_run,
        progress: 0,
        processed_rows: 0,
        total_rows,
        successful_rows: 0,
        failed_rows: 0,
        errors: Vec::new(),
    };
    aegis.forget_old_jobs().await?;
    aegis.save_job(&job).await?;
    let user_id = user.id().to_owned();
    tokio::spawn(async move {
        let mut runner = Runner::<T> {
            aegis,
            settings,
            user: user_id,
            job,
            last_progress: None,
            marker: std::marker::PhantomData,
        };
        if let Err(error) = runner.run(plan, &csv).await {
            tracing::error!(%error, job = %runner.job.job_id, "import failed");
            runner.fail(&error.to_string()).await;
        }
    });
    Ok((StatusCode::ACCEPTED, Json(ImportAccepted { job_id })))
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

    async fn run(&mut self, plan: Plan, csv: &[u8]) -> Result<(), Error> {
        self.event(
            EventAction::ImportStarted,
            &ImportStarted {
                job_id: self.job.job_id.clone(),
                total_rows: self.job.total_rows,
            },
        )
        .await?;
        let batch_size = self.aegis.limits().import_batch.max(1);
        let mut batch: Vec<T::Create> = Vec::with_capacity(batch_size);
        let mut reader = csv::ReaderBuilder::new().from_reader(csv);
        let mut record = csv::StringRecord::new();
        let mut row = 0;
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    row += 1;
                    match parse_row::<T>(&plan, &record, row) {
                        Ok(input) => batch.push(input),
                        Err(error) => {
                            self.row_error(error);
                            self.job.processed_rows += 1;
                        }
                    }
                }
                Err(error) => {
                    row += 1;
                    self.row_error(ImportRowError {
                        row,
                        field: None,
                        message: format!("unreadable row: {error}"),
                    });
                    self.job.processed_rows += 1;
                }
            }
            if batch.len() >= batch_size {
                self.flush(&mut batch).await?;
                self.report(false).await?;
            }
        }
        self.flush(&mut batch).await?;
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
            let db = self.aegis.db().clone();
            let mut tx = db.begin().await?;
            for input in batch.drain(..) {
                let id = allocate_id::<T>(&db, &mut tx).await?;
                insert_row(&db, &mut tx, &T::from_create(id, input)).await?;
            }
            tx.commit().await?;
        }
        self.job.successful_rows += count;
        self.job.processed_rows += count;
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
