//! Import jobs in the database (`aegis_import_jobs`), so every instance
//! answers for every job: read, saved by its runner, forgotten oldest
//! first beyond [`crate::Limits::import_jobs`].

use sqlx::Row;

use crate::Aegis;
use crate::entity::{ModuleMeta, ModuleSettings};
use crate::error::Error;
use crate::protocol::{EventAction, ImportCompleted, ImportJob, ImportRowError, ImportState};
use crate::store::Dialect;

impl Aegis {
    /// An import job, as its runner last saved it, whichever instance
    /// runs it. A running job not saved for [`STALE_JOB`] is reported
    /// failed: the instance running it stopped.
    pub(crate) async fn job(&self, id: &str) -> Result<Option<ImportJob>, Error> {
        let db = self.db();
        let query = format!(
            "SELECT job, updated_ms FROM aegis_import_jobs WHERE job_id = {}",
            db.param(1)
        );
        let Some(row) = sqlx::query(&query)
            .bind(id)
            .fetch_optional(db.read_pool())
            .await?
        else {
            return Ok(None);
        };
        let text: String = row.try_get(0)?;
        let updated_ms: i64 = row.try_get(1)?;
        let mut job: ImportJob = serde_json::from_str(&text)
            .map_err(|e| Error::Internal(format!("import job `{id}` is stored badly: {e}")))?;
        let age = now_ms().saturating_sub(updated_ms);
        if job.state == ImportState::Running && age > STALE_JOB.as_millis() as i64 {
            job.state = ImportState::Failed;
            job.errors.push(ImportRowError {
                row: job.processed_rows,
                field: None,
                message: "the import stopped: the server running it went away".to_owned(),
            });
        }
        Ok(Some(job))
    }

    /// Saves an import job's state.
    pub(crate) async fn save_job(&self, job: &ImportJob) -> Result<(), Error> {
        let db = self.db();
        let text = serde_json::to_string(job)
            .map_err(|e| Error::Internal(format!("cannot serialise an import job: {e}")))?;
        let state = serde_json::to_value(job.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let upsert = format!(
            "INSERT INTO aegis_import_jobs (job_id, state, job, updated_ms) VALUES ({}, {}, {}, {}) \
             ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, job = excluded.job, \
             updated_ms = excluded.updated_ms",
            db.param(1),
            db.param(2),
            db.param(3),
            db.param(4)
        );
        sqlx::query(&upsert)
            .bind(job.job_id.as_str())
            .bind(state)
            .bind(text)
            .bind(now_ms())
            .execute(db.pool())
            .await?;
        Ok(())
    }

    /// On SQLite, which one instance serves, a job still running when the
    /// runtime starts lost its server with the last run: it is failed at
    /// once (not after [`STALE_JOB`]), every row it did not import counted
    /// as failed, with its `import_completed` event (`success: false`) so
    /// that every tab hears. Returns how many it failed.
    pub(crate) async fn fail_orphaned_jobs(
        &self,
        modules: &[(&'static ModuleMeta, ModuleSettings)],
    ) -> Result<usize, Error> {
        let db = self.db();
        if db.dialect() != Dialect::Sqlite {
            return Ok(0);
        }
        let rows = sqlx::query("SELECT job FROM aegis_import_jobs WHERE state = 'running'")
            .fetch_all(db.pool())
            .await?;
        let mut failed = 0;
        for row in rows {
            let text: String = row.try_get(0)?;
            let mut job: ImportJob = serde_json::from_str(&text)
                .map_err(|e| Error::Internal(format!("an import job is stored badly: {e}")))?;
            job.state = ImportState::Failed;
            job.progress = 100;
            job.failed_rows = job.total_rows.saturating_sub(job.successful_rows);
            job.errors.push(ImportRowError {
                row: job.processed_rows,
                field: None,
                message: "the import stopped: the server restarted".to_owned(),
            });
            // Job ids are `<feature>-<uuid>`.
            let module = modules.iter().find(|(meta, _)| {
                job.job_id
                    .strip_prefix(meta.feature)
                    .is_some_and(|rest| rest.starts_with('-'))
            });
            let mut change = self.change().await?;
            if let Some((meta, _)) = module.filter(|(_, settings)| settings.with_events) {
                let data = serde_json::to_value(ImportCompleted {
                    job_id: job.job_id.clone(),
                    success: false,
                    dry_run: job.dry_run,
                    total_rows: job.total_rows,
                    successful_rows: job.successful_rows,
                    failed_rows: job.failed_rows,
                    errors: job.errors.clone(),
                })
                .map_err(|e| Error::Internal(format!("cannot serialise an import event: {e}")))?;
                change
                    .module_event(
                        meta,
                        EventAction::ImportCompleted,
                        data,
                        "aegis",
                        None,
                        None,
                    )
                    .await?;
            }
            change.commit().await?;
            self.save_job(&job).await?;
            failed += 1;
        }
        Ok(failed)
    }

    /// Forgets the oldest finished import jobs, making room for a new one
    /// within [`Limits::import_jobs`].
    pub(crate) async fn forget_old_jobs(&self) -> Result<(), Error> {
        let db = self.db();
        let forget = format!(
            "DELETE FROM aegis_import_jobs WHERE state <> 'running' AND job_id NOT IN \
             (SELECT job_id FROM aegis_import_jobs WHERE state <> 'running' \
              ORDER BY updated_ms DESC LIMIT {})",
            db.param(1)
        );
        let keep = self.limits().import_jobs.saturating_sub(1) as i64;
        sqlx::query(&forget).bind(keep).execute(db.pool()).await?;
        Ok(())
    }
}

/// A running import saves its state at least this often (each batch);
/// one silent for longer lost its server.
const STALE_JOB: std::time::Duration = std::time::Duration::from_secs(60);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
