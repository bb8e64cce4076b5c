import { ChangeDetectionStrategy, Component, input } from '@angular/core';
import { MatProgressBarModule } from '@angular/material/progress-bar';

import { RunningImport } from '../business/services/import-tracker';

/** A feature's imports running now, whoever started them, with their progress. */
@Component({
  selector: 'aegis-running-imports',
  imports: [MatProgressBarModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @for (job of imports(); track job.jobId) {
      <div class="importing" role="status" data-testid="import-running">
        <span
          >Importing {{ plural() }}: {{ job.processedRows }} of {{ job.totalRows }} rows ({{
            job.progress
          }}%)</span
        >
        <mat-progress-bar mode="determinate" [value]="job.progress" aria-label="Import progress" />
      </div>
    }
  `,
  styles: `
    :host {
      display: contents;
    }
    .importing {
      display: flex;
      flex-direction: column;
      gap: 4px;
      padding: 8px 12px;
      border-radius: 8px;
      background: var(--mat-sys-surface-variant);
    }
  `,
})
export class RunningImportsComponent {
  readonly imports = input.required<readonly RunningImport[]>();
  /** The rows, as a sentence names them (lower case, plural). */
  readonly plural = input.required<string>();
}
