import { ChangeDetectionStrategy, Component, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';

import { EntityId } from '../business/services/aegis-api';
import { Conflict } from '../business/services/item-events';
import { ViewFields } from '../business/services/list-view';

/** How a conflict is settled: this tab's change saved over theirs, or theirs taken. */
export interface ConflictChoice {
  readonly id: EntityId;
  readonly choice: 'mine' | 'theirs';
}

/** One field two versions of a row disagree on, as the banner shows it. */
export interface Difference {
  readonly field: string;
  readonly mine: string;
  readonly theirs: string;
}

/** The fields of `fields` a conflict's two versions disagree on, with both values. */
export function differences<T extends object>(
  conflict: Conflict<T>,
  fields: ViewFields,
): Difference[] {
  const cell = (item: T, name: string): unknown => (item as Record<string, unknown>)[name];
  return Object.keys(fields)
    .filter(
      (name) =>
        JSON.stringify(cell(conflict.mine, name)) !== JSON.stringify(cell(conflict.theirs, name)),
    )
    .map((name) => ({
      field: fields[name].label,
      mine: String(cell(conflict.mine, name) ?? '—'),
      theirs: String(cell(conflict.theirs, name) ?? '—'),
    }));
}

/**
 * A live list's conflicts: for each row this tab saved while someone else
 * changed it, who did, the fields that differ, and the two ways out.
 */
@Component({
  selector: 'aegis-conflict-banner',
  imports: [MatButtonModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @for (conflict of conflicts(); track conflict.id) {
      <div class="conflict" role="alert">
        <span>
          {{ conflict.by ? conflict.by + ' changed' : 'Someone else changed' }} this
          {{ singular() }} ({{ conflict.id }}) while you were saving yours:
        </span>
        <ul>
          @for (difference of differencesOf(conflict); track difference.field) {
            <li>
              {{ difference.field }}: yours “{{ difference.mine }}”, theirs “{{
                difference.theirs
              }}”
            </li>
          }
        </ul>
        <button
          mat-button
          type="button"
          (click)="resolve.emit({ id: conflict.id, choice: 'mine' })"
        >
          Keep mine
        </button>
        <button
          mat-button
          type="button"
          (click)="resolve.emit({ id: conflict.id, choice: 'theirs' })"
        >
          Take theirs
        </button>
      </div>
    }
  `,
  styles: `
    :host {
      display: contents;
    }
    .conflict {
      display: flex;
      align-items: center;
      flex-wrap: wrap;
      gap: 8px;
      padding: 8px 12px;
      border-radius: 8px;
      background: var(--mat-sys-tertiary-container);
    }
    ul {
      flex-basis: 100%;
      margin: 0;
    }
  `,
})
export class ConflictBannerComponent<T extends object> {
  readonly conflicts = input.required<readonly Conflict<T>[]>();
  /** The list's fields: which to compare, and their labels. */
  readonly fields = input.required<ViewFields>();
  /** The entity, as a sentence names one (lower case). */
  readonly singular = input.required<string>();
  readonly resolve = output<ConflictChoice>();

  protected differencesOf(conflict: Conflict<T>): Difference[] {
    return differences(conflict, this.fields());
  }
}
