import { ChangeDetectionStrategy, Component, input } from '@angular/core';

import { ReferenceTarget } from '../business/services/reference-labels';
import { ReferenceLabelPipe } from './reference-label.pipe';

/**
 * A row's many-to-many links in a list: a chip per linked row, showing its
 * label (kept current as it changes elsewhere), else its id.
 */
@Component({
  selector: 'aegis-link-chips',
  imports: [ReferenceLabelPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @for (id of ids() ?? []; track id) {
      <span class="chip">{{ (id | referenceLabel: target())() ?? id }}</span>
    }
  `,
  styles: `
    :host {
      display: flex;
      flex-wrap: wrap;
      gap: 4px;
    }
    .chip {
      padding: 2px 8px;
      border-radius: 8px;
      background: var(--mat-sys-secondary-container);
      color: var(--mat-sys-on-secondary-container);
      font: var(--mat-sys-label-medium);
      white-space: nowrap;
    }
  `,
})
export class LinkChipsComponent {
  /** The linked ids (a row stored before the field existed may have none). */
  readonly ids = input.required<readonly (number | string)[] | null | undefined>();
  readonly target = input.required<ReferenceTarget>();
}
