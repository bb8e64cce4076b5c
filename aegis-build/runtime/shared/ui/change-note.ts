import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';

import { RemoteChange } from '../business/services/item-events';

/** Who changed a row elsewhere, and how, beside the row. */
@Component({
  selector: 'aegis-change-note',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<span role="status">{{ text() }}</span>`,
  styles: `
    :host {
      margin-right: 8px;
      font: var(--mat-sys-label-small);
    }
  `,
})
export class ChangeNoteComponent {
  readonly change = input.required<RemoteChange>();
  protected readonly text = computed(() => {
    const { action, userId } = this.change();
    return `${action === 'created' ? 'Added' : 'Changed'} by ${userId}`;
  });
}
