import { Signal, computed, signal } from '@angular/core';

import {
  ImportAccepted,
  ImportCompleted,
  ImportJob,
  ImportProgress,
  ImportStarted,
} from '../models/aegis-protocol.types';
import { apiErrorMessage } from './aegis-api';

/** Where this tab's import stands. */
export type ImportStatus = 'idle' | 'uploading' | 'running' | 'completed' | 'failed';

/** A finished job's figures and first errors. */
export type ImportSummary = Pick<
  ImportCompleted,
  'totalRows' | 'successfulRows' | 'failedRows' | 'errors'
>;

/** The calls a feature's service makes for imports. */
export interface ImportSource {
  importCsv(file: File, dryRun: boolean): Promise<ImportAccepted>;
  importStatus(jobId: string): Promise<ImportJob>;
}

/** How a tracker learns of its job's progress. */
export interface ImportTrackerOptions {
  /**
   * Polls the job's status this often. Without it, the feature's events
   * drive the tracker through `onStarted`, `onProgress` and `onCompleted`.
   */
  readonly pollIntervalMs?: number;
  /** Called once when a job that was not a dry run imported rows. */
  readonly onImported?: () => void;
}

/** Completed jobs kept for a 202 that arrives after its job's last event, at most. */
const MAX_EARLY_COMPLETIONS = 16;

/**
 * One tab's CSV import: upload, then the job followed to its end, from the
 * feature's events or, for a feature without events, by polling its status.
 */
export class ImportTracker {
  readonly #progress = signal(0);
  readonly #jobId = signal<string | null>(null);
  readonly #status = signal<ImportStatus>('idle');
  readonly #result = signal<ImportSummary | null>(null);
  readonly #failure = signal<string | null>(null);
  readonly #dryRun = signal(false);
  readonly #fileName = signal<string | null>(null);
  readonly #earlyCompletions = new Map<string, ImportCompleted>();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by each reset: an upload answered after one is not followed. */
  #generation = 0;

  /** Percent done. */
  readonly progress = this.#progress.asReadonly();
  readonly jobId = this.#jobId.asReadonly();
  readonly status = this.#status.asReadonly();
  /** The finished job's figures and first errors. */
  readonly result = this.#result.asReadonly();
  /** Why following the job failed (the job itself may still run). */
  readonly failure = this.#failure.asReadonly();
  /** Whether the current job only validates. */
  readonly dryRun = this.#dryRun.asReadonly();
  /** The uploaded file's name. */
  readonly fileName = this.#fileName.asReadonly();

  constructor(
    private readonly source: ImportSource,
    private readonly options: ImportTrackerOptions = {},
  ) {}

  /** Uploads a CSV file and follows the job it starts. */
  async start(file: File, dryRun: boolean): Promise<string> {
    this.reset();
    const generation = this.#generation;
    this.#status.set('uploading');
    this.#dryRun.set(dryRun);
    this.#fileName.set(file.name);
    try {
      const { jobId } = await this.source.importCsv(file, dryRun);
      if (generation !== this.#generation) {
        // Reset (or stopped) while uploading: the job is no longer followed.
        return jobId;
      }
      this.#jobId.set(jobId);
      this.#status.set('running');
      const early = this.#earlyCompletions.get(jobId);
      if (early !== undefined) {
        this.#earlyCompletions.delete(jobId);
        this.#finish(early);
      } else if (this.options.pollIntervalMs !== undefined) {
        this.#poll(jobId, this.options.pollIntervalMs);
      }
      return jobId;
    } catch (error) {
      this.#status.set('failed');
      throw error;
    }
  }

  /** Forgets the last import, ready for another. */
  reset(): void {
    this.#generation += 1;
    clearTimeout(this.#pollTimer);
    this.#status.set('idle');
    this.#progress.set(0);
    this.#jobId.set(null);
    this.#result.set(null);
    this.#failure.set(null);
  }

  /**
   * Reads the running job's status once: after a reconnect or a resync,
   * when its events may have been missed (its server may even have gone,
   * and the job then reads as failed).
   */
  async recover(): Promise<void> {
    const jobId = this.jobId();
    if (jobId === null || this.status() !== 'running') {
      return;
    }
    try {
      const job = await this.source.importStatus(jobId);
      if (this.jobId() === jobId && this.status() === 'running') {
        this.#progress.set(job.progress);
        if (job.state !== 'running') {
          this.#finish({ ...job, success: job.state === 'completed' });
        }
      }
    } catch {
      // The next event, or the next recovery, tells.
    }
  }

  onStarted(data: ImportStarted): void {
    if (data.jobId === this.jobId()) {
      this.#progress.set(0);
    }
  }

  onProgress(data: ImportProgress): void {
    if (data.jobId === this.jobId()) {
      this.#progress.set(data.progress);
    }
  }

  onCompleted(data: ImportCompleted): void {
    if (data.jobId === this.jobId()) {
      this.#finish(data);
    } else if (this.status() === 'uploading') {
      this.#earlyCompletions.set(data.jobId, data);
      if (this.#earlyCompletions.size > MAX_EARLY_COMPLETIONS) {
        const oldest = this.#earlyCompletions.keys().next().value;
        if (oldest !== undefined) {
          this.#earlyCompletions.delete(oldest);
        }
      }
    }
  }

  #poll(jobId: string, intervalMs: number): void {
    const tick = async (): Promise<void> => {
      try {
        const job = await this.source.importStatus(jobId);
        if (this.jobId() !== jobId) {
          return;
        }
        this.#progress.set(job.progress);
        if (job.state === 'running') {
          this.#pollTimer = setTimeout(() => void tick(), intervalMs);
        } else {
          this.#finish({ ...job, success: job.state === 'completed' });
        }
      } catch (error) {
        if (this.jobId() === jobId) {
          this.#status.set('failed');
          this.#failure.set(apiErrorMessage(error));
        }
      }
    };
    void tick();
  }

  #finish(job: ImportSummary & { readonly success: boolean }): void {
    this.#progress.set(100);
    this.#result.set(job);
    this.#status.set(job.success ? 'completed' : 'failed');
    if (!this.dryRun() && job.successfulRows > 0) {
      this.options.onImported?.();
    }
  }
}

/** A feature's import running anywhere (another tab, another user), from its events. */
export interface RunningImport {
  readonly jobId: string;
  /** Percent done. */
  readonly progress: number;
  readonly processedRows: number;
  readonly totalRows: number;
}

/**
 * The imports of a feature as its events tell them, whoever started them:
 * those running, and the last one that finished. Dry runs are left out.
 */
export class FeatureImports {
  readonly #running = signal<ReadonlyMap<string, RunningImport>>(new Map());
  readonly #finished = signal<ImportCompleted | null>(null);

  readonly running: Signal<readonly RunningImport[]> = computed(() => [
    ...this.#running().values(),
  ]);
  readonly finished = this.#finished.asReadonly();

  /**
   * Takes a job's start or progress (`running`) or its end (`completed`);
   * returns whether rows were imported, so the list reads them.
   */
  track(running: RunningImport | null, dryRun: boolean, completed?: ImportCompleted): boolean {
    if (dryRun) {
      return false;
    }
    if (running !== null) {
      const { jobId, progress, processedRows, totalRows } = running;
      this.#running.update((all) =>
        new Map(all).set(jobId, { jobId, progress, processedRows, totalRows }),
      );
    }
    if (completed === undefined) {
      return false;
    }
    this.#running.update((all) => {
      const rest = new Map(all);
      rest.delete(completed.jobId);
      return rest;
    });
    this.#finished.set(completed);
    return completed.successfulRows > 0;
  }

  /** Forgets the running jobs: their ends may be lost with a gap. */
  clear(): void {
    this.#running.set(new Map());
  }
}
