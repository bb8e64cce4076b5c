//! The job: writes each slice's valid rows (stamped, through the hooks)
//! in one short transaction, counts and keeps errors, reports progress.

use std::sync::Arc;
use std::time::Instant;

use super::{PROGRESS_INTERVAL, ROW_ERROR_CHARS, excerpt};
use crate::Aegis;
use crate::entity::{CrudEntity, ModuleSettings};
use crate::error::Error;
use crate::hooks::CrudHooks;
use crate::protocol::{
    EventAction, FieldError, ImportCompleted, ImportJob, ImportProgress, ImportRowError,
    ImportStarted, ImportState,
};

use super::parse::{Parsed, Plan, parse_rows};
use crate::hooks::HookContext;
use crate::rows::{allocate_ids, insert_rows, to_object};
use crate::stamp::{Moment, stamp};
use crate::store::{Db, Tx};

pub(super) struct Runner<T, H> {
    pub(super) aegis: Aegis,
    pub(super) settings: ModuleSettings,
    pub(super) hooks: Arc<H>,
    /// Whether referenced rows exist, as far as this job has asked.
    pub(super) known_targets: std::collections::HashMap<(&'static str, String), bool>,
    pub(super) user: String,
    /// The rows the user may read: a row outside it is not imported.
    pub(super) access: Option<crate::access::RowFilter>,
    /// What the user may point references at ([`crate::relations::Sight`]).
    pub(super) sight: Option<crate::relations::Sight>,
    pub(super) job: ImportJob,
    pub(super) last_progress: Option<Instant>,
    pub(super) marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: CrudEntity, H: CrudHooks<T>> Runner<T, H> {
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
            dry_run: self.job.dry_run,
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

    /// A dry run's batch: the rows whose references point at no row are
    /// errors, the others count as importable. It reads from a snapshot,
    /// never the writer; hooks are not run.
    async fn check_references(&mut self, batch: &mut Vec<(u64, T::Create)>) -> Result<(), Error> {
        let meta = T::meta();
        if !meta.refers_to_others() && !meta.holds_files() {
            self.job.successful_rows += batch.len() as u64;
            batch.clear();
            return Ok(());
        }
        let db = self.aegis.db().clone();
        let relations = self.aegis.relations();
        let mut tx = db.begin_snapshot().await?;
        for (row, input) in batch.drain(..) {
            let object = to_object(&input)?;
            let missing = relations
                .missing_targets(
                    &db,
                    &mut tx,
                    T::meta(),
                    &object,
                    self.sight.as_ref(),
                    &mut self.known_targets,
                )
                .await?;
            let files = crate::files::refs::problems(&db, &mut tx, T::meta(), &object).await?;
            match missing.into_iter().chain(files).next() {
                Some(error) => self.row_error(field_row_error(row, error)),
                None => self.job.successful_rows += 1,
            }
        }
        tx.rollback().await?;
        Ok(())
    }

    pub(super) async fn run(&mut self, plan: Plan, csv: std::fs::File) -> Result<(), Error> {
        let slice = self.aegis.limits().import_batch.max(1);
        // Two slices in flight: parsing runs ahead of writing, bounded.
        let (sender, mut parsed) = tokio::sync::mpsc::channel(2);
        let parser = tokio::task::spawn_blocking(move || parse_rows::<T>(plan, csv, slice, sender));
        let aegis = self.aegis.clone();
        loop {
            // A stop ends the job between slices: what was written stays.
            let next = tokio::select! {
                biased;
                () = aegis.stopping() => {
                    return Err(Error::Unavailable("the server shut down".to_owned()));
                }
                next = parsed.recv() => next,
            };
            let Some(next) = next else { break };
            match next {
                Parsed::Total(total) => {
                    self.job.total_rows = total;
                    self.aegis.save_job(&self.job).await?;
                    self.event(
                        EventAction::ImportStarted,
                        &ImportStarted {
                            job_id: self.job.job_id.clone(),
                            total_rows: total,
                            dry_run: self.job.dry_run,
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
            .map_err(|e| Error::Internal(format!("the CSV parser stopped: {e}")))??;
        self.report(true).await?;
        self.finish(true).await
    }

    /// Imports (or, in a dry run, only checks) one batch of rows (with
    /// their numbers), in one transaction: stamped, each through the
    /// `before_create` hook (a refusal is the row's error), its references
    /// checked, then inserted. A row refused after its hook ran may have
    /// had the hook write in the transaction, so a batch with a refusal is
    /// rolled back whole and made again without those rows (as REST
    /// creates are): what a refused row's hook wrote never commits, and a
    /// batch without refusals costs nothing more.
    async fn flush(&mut self, batch: &mut Vec<(u64, T::Create)>) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.job.dry_run {
            return self.check_references(batch).await;
        }
        loop {
            let refused = self.write(batch).await?;
            if refused.is_empty() {
                return Ok(());
            }
            batch.retain(|(row, _)| !refused.iter().any(|error| error.row == *row));
            for error in refused {
                self.row_error(error);
            }
            if batch.is_empty() {
                return Ok(());
            }
        }
    }

    /// Writes `batch` in one transaction when no row of it is refused, and
    /// empties it; else rolls it back and returns the refused rows' errors.
    async fn write(
        &mut self,
        batch: &mut Vec<(u64, T::Create)>,
    ) -> Result<Vec<ImportRowError>, Error> {
        // One counter update and a few multi-row inserts: the writer is
        // held as briefly as the rows allow.
        let db = self.aegis.db().clone();
        let mut tx = db.begin().await?;
        let ids = allocate_ids::<T>(&db, &mut tx, batch.len()).await?;
        let now = chrono::Utc::now();
        let mut entities = Vec::with_capacity(batch.len());
        let mut refused = Vec::new();
        for (id, (row, input)) in ids.into_iter().zip(batch.iter()) {
            let mut entity = T::from_create(id, input.clone());
            stamp(&mut entity, Moment::Created, &self.user, now)?;
            match self.admit(&db, &mut tx, *row, &mut entity).await? {
                None => entities.push(entity),
                Some(error) => refused.push(error),
            }
        }
        if !refused.is_empty() {
            tx.rollback().await?;
            // What the rolled-back hooks wrote may have been looked up.
            self.known_targets.clear();
            return Ok(refused);
        }
        insert_rows(&db, &mut tx, &entities).await?;
        if self.settings.with_history {
            self.history(&db, &mut tx, &entities).await?;
        }
        tx.commit().await?;
        batch.clear();
        self.job.successful_rows += entities.len() as u64;
        for entity in &entities {
            self.hooks
                .after_commit(&self.user, EventAction::Created, entity)
                .await;
        }
        Ok(Vec::new())
    }

    /// The history of a batch's rows: one entry for them all when their
    /// ids are integers (allocated together, in order), else one each.
    async fn history(&self, db: &Db, tx: &mut Tx, entities: &[T]) -> Result<(), Error> {
        let ids = || entities.iter().map(|e| crate::rows::id_value::<T>(e.id()));
        let first = ids().next().transpose()?.and_then(|id| id.as_i64());
        let last = ids().last().transpose()?.and_then(|id| id.as_i64());
        if let (Some(first), Some(last)) = (first, last) {
            return crate::history::imported(db, tx, T::meta(), &self.user, (first, last)).await;
        }
        let by = self.user.as_str();
        crate::history::created(db, tx, entities.iter().map(|entity| (entity, by))).await
    }

    /// Runs a row's `before_create` and checks what it made: one its user
    /// may read, whose references exist. The row's error if it is refused.
    async fn admit(
        &mut self,
        db: &Db,
        tx: &mut Tx,
        row: u64,
        entity: &mut T,
    ) -> Result<Option<ImportRowError>, Error> {
        let mut ctx = HookContext::new(&self.user, db, tx);
        if let Err(error) = self.hooks.before_create(&mut ctx, entity).await {
            return refusal(row, error).map(Some);
        }
        if let Err(error) = crate::access::check_creatable::<T>(self.access.as_ref(), entity) {
            return Ok(Some(ImportRowError {
                row,
                field: self.access.as_ref().map(|a| a.field().to_owned()),
                message: error.to_string(),
            }));
        }
        // Most modules reference nothing and hold no file: no row is read
        // back as JSON for them.
        if !T::meta().refers_to_others() && !T::meta().holds_files() {
            return Ok(None);
        }
        let object = to_object(&*entity)?;
        let files = crate::files::refs::problems(db, tx, T::meta(), &object).await?;
        if let Some(error) = files.into_iter().next() {
            return Ok(Some(field_row_error(row, error)));
        }
        let missing = self
            .aegis
            .relations()
            .missing_targets(
                db,
                tx,
                T::meta(),
                &object,
                self.sight.as_ref(),
                &mut self.known_targets,
            )
            .await?;
        Ok(missing
            .into_iter()
            .next()
            .map(|error| field_row_error(row, error)))
    }

    async fn finish(&mut self, success: bool) -> Result<(), Error> {
        if !self.job.dry_run {
            crate::metrics::import_rows(
                T::meta().feature,
                self.job.successful_rows,
                self.job.failed_rows,
            );
        }
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
                    dry_run: self.job.dry_run,
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
    pub(super) async fn fail(&mut self, message: &str) {
        self.job.errors.push(ImportRowError {
            row: self.job.processed_rows,
            field: None,
            message: format!("the import stopped: {message}"),
        });
        // Every row it did not import failed.
        self.job.failed_rows = self.job.total_rows.saturating_sub(self.job.successful_rows);
        self.job.progress = 100;
        if let Err(error) = self.finish(false).await {
            tracing::error!(%error, "cannot report a failed import");
        }
    }
}

/// A hook's refusal of a row as the row's error; any other failure stops
/// the job (the transaction may no longer be usable).
pub(super) fn refusal(row: u64, error: Error) -> Result<ImportRowError, Error> {
    match error {
        Error::Unprocessable { message, fields } => {
            let first = fields.into_iter().next();
            Ok(ImportRowError {
                row,
                field: first.as_ref().map(|f| f.field.clone()),
                message: excerpt(&first.map_or(message, |f| f.message), ROW_ERROR_CHARS),
            })
        }
        Error::Forbidden(message) | Error::BadRequest(message) => Ok(ImportRowError {
            row,
            field: None,
            message: excerpt(&message, ROW_ERROR_CHARS),
        }),
        other => Err(other),
    }
}

/// A field's error as its row's error.
fn field_row_error(row: u64, error: FieldError) -> ImportRowError {
    ImportRowError {
        row,
        field: Some(error.field),
        message: excerpt(&error.message, ROW_ERROR_CHARS),
    }
}
