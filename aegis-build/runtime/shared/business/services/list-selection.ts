import { Signal, WritableSignal, computed, linkedSignal } from '@angular/core';

import { EntityId } from './aegis-api';

/**
 * The rows a list has chosen: some on its page, by id, or every row its
 * view holds. A new view (another page, sort, search or filter) starts
 * with nothing chosen.
 */
export class ListSelection<T, Id extends EntityId> {
  /** The rows chosen on this page, by id. */
  readonly selected: WritableSignal<ReadonlySet<Id>>;
  /** Whether every row of the view is chosen, on all pages. */
  readonly allMatching: WritableSignal<boolean>;
  /** Whether every row of the page is chosen. */
  readonly allOnPage: Signal<boolean>;
  /** Whether anything is chosen. */
  readonly any: Signal<boolean>;

  constructor(
    private readonly rows: Signal<readonly T[]>,
    view: Signal<unknown>,
    /** What knows a row's id: the list's state manager. */
    private readonly rowIds: { idOf(row: T): Id },
  ) {
    this.selected = linkedSignal<unknown, ReadonlySet<Id>>({
      source: view,
      computation: () => new Set(),
    });
    this.allMatching = linkedSignal<unknown, boolean>({ source: view, computation: () => false });
    this.allOnPage = computed(
      () => rows().length > 0 && rows().every((row) => this.selected().has(rowIds.idOf(row))),
    );
    this.any = computed(() => this.selected().size > 0 || this.allMatching());
  }

  /** Whether a row is chosen (itself, or as one of the whole view). */
  has(row: T): boolean {
    return this.allMatching() || this.selected().has(this.rowIds.idOf(row));
  }

  toggle(row: T): void {
    const id = this.rowIds.idOf(row);
    this.allMatching.set(false);
    this.selected.update((chosen) => {
      const next = new Set(chosen);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  }

  /** Chooses every row of the page, or none when all were. */
  toggleAll(): void {
    this.allMatching.set(false);
    this.selected.set(
      this.allOnPage() ? new Set() : new Set(this.rows().map((row) => this.rowIds.idOf(row))),
    );
  }

  chooseAllMatching(): void {
    this.allMatching.set(true);
  }

  clear(): void {
    this.selected.set(new Set());
    this.allMatching.set(false);
  }
}
