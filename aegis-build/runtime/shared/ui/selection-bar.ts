import { ChangeDetectionStrategy, Component, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';

import { EntityId } from '../business/services/aegis-api';
import { ListSelection } from '../business/services/list-selection';

/**
 * What a list has chosen, and what can be done with it: choose every row
 * of the view, delete them, clear. Shown while anything is chosen.
 */
@Component({
  selector: 'aegis-selection-bar',
  imports: [MatButtonModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (selection().any()) {
      <div class="selection" role="region" aria-label="Selection">
        <span
          >{{
            selection().allMatching() ? 'All ' + total() : selection().selected().size
          }}
          selected</span
        >
        @if (
          selection().allOnPage() &&
          !selection().allMatching() &&
          total() > selection().selected().size
        ) {
          <button mat-button type="button" (click)="selection().chooseAllMatching()">
            Select all {{ total() }} in this view
          </button>
        }
        <button mat-button type="button" (click)="delete.emit()">Delete</button>
        <button mat-button type="button" (click)="selection().clear()">Clear selection</button>
      </div>
    }
  `,
  styles: `
    :host {
      display: contents;
    }
    .selection {
      display: flex;
      align-items: center;
      flex-wrap: wrap;
      gap: 8px;
      padding: 4px 12px;
      border-radius: 8px;
      background: var(--mat-sys-secondary-container);
    }
  `,
})
export class SelectionBarComponent<T, Id extends EntityId> {
  readonly selection = input.required<ListSelection<T, Id>>();
  /** How many rows the view holds, on all pages. */
  readonly total = input.required<number>();
  /** Asked to delete what is chosen. */
  readonly delete = output();
}
