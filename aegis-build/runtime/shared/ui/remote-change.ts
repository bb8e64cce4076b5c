import { ChangeDetectionStrategy, Component, computed, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';

import { WatchedChange } from '../business/services/item-events';
import { ViewFields } from '../business/services/list-view';
import { differences } from './conflict-banner';

/**
 * What an open edit dialog says when its row changes elsewhere: deleted,
 * or changed (which fields, from the version the form started with), with
 * the way to start again from their version.
 */
@Component({
  selector: 'aegis-remote-change',
  imports: [MatButtonModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="remote" role="alert" data-testid="remote-change">
      @if (change().item; as theirs) {
        <span>
          {{ change().userId }} changed this {{ singular() }} while you were editing it{{
            changed()
          }}. Saving will ask which to keep.
        </span>
        <button mat-button type="button" (click)="takeTheirs.emit(theirs)">
          Load their version
        </button>
      } @else {
        <span>{{ change().userId }} deleted this {{ singular() }} while you were editing it.</span>
      }
    </div>
  `,
  styles: `
    .remote {
      display: flex;
      flex-direction: column;
      gap: 4px;
      padding: 8px 12px;
      margin-bottom: 8px;
      border-radius: 8px;
      background: var(--mat-sys-tertiary-container);
    }
  `,
})
export class RemoteChangeComponent<T extends object> {
  readonly change = input.required<WatchedChange<T>>();
  /** The row as the form started from. */
  readonly basedOn = input.required<T | null>();
  /** The feature's fields: which to compare, and their labels. */
  readonly fields = input.required<ViewFields>();
  /** The entity, as a sentence names one (lower case). */
  readonly singular = input.required<string>();
  /** Asked to start again from their version. */
  readonly takeTheirs = output<T>();

  /** `: Name, Amount`: the fields their version changed from the form's start. */
  protected readonly changed = computed(() => {
    const base = this.basedOn();
    const theirs = this.change().item;
    if (base === null || theirs === null) {
      return '';
    }
    const labels = differences({ id: 0, mine: base, theirs }, this.fields()).map((d) => d.field);
    return labels.length === 0 ? '' : `: ${labels.join(', ')}`;
  });
}
