import { InjectionToken, Signal, computed, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { ActivatedRoute, Params, Router } from '@angular/router';

import { DEFAULT_PAGE_SIZE } from '../models/aegis-protocol.types';
import { ListFilter, ListQuery, queryFromParams, queryParams } from './list-query';

/**
 * The row a list is shown under, as a panel of its page: the list shows
 * the rows whose `field` holds `id` (the view `<field>.eq=<id>`), and a row
 * created there gets that reference.
 */
export interface ParentRow {
  /** The referencing field's JSON name, such as `department`. */
  readonly field: string;
  readonly id: string | number;
}

/** The row a list is a panel of; a routed list has none. */
export const PARENT_ROW = new InjectionToken<ParentRow>('aegis parent row');

/** The filter that keeps a panel to its parent's rows. */
export function parentFilter(parent: ParentRow): ListFilter {
  return { field: parent.field, op: 'eq', value: String(parent.id) };
}

/**
 * Where a list's view lives. A routed list keeps it in the page's URL, so
 * it can be shared and Back returns to the previous one; a list shown as a
 * panel of a parent row keeps it itself, with the parent's filter locked
 * in: every view it shows has it, and the user's own filters come beside.
 * Made in an injection context.
 */
export class ListLocation {
  /** The row this list is a panel of, or `null` for a routed list. */
  readonly parent = inject(PARENT_ROW, { optional: true });
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private readonly params = toSignal(this.route.queryParams, { requireSync: true });
  private readonly own = signal<ListQuery>({ page: 1, pageSize: DEFAULT_PAGE_SIZE });
  /** The view shown, the parent's filter included. */
  readonly query: Signal<ListQuery>;
  /** The filters the user chose (a panel's parent filter is not theirs). */
  readonly filters = computed(() => this.without(this.query().filters ?? []));

  constructor() {
    const parent = this.parent;
    if (parent === null) {
      this.query = computed(() => queryFromParams(this.params(), { pageSize: DEFAULT_PAGE_SIZE }));
    } else {
      this.query = computed(() => {
        const own = this.own();
        return { ...own, filters: [parentFilter(parent), ...(own.filters ?? [])] };
      });
    }
  }

  /** The columns worth showing: a panel's rows all hold the parent. */
  shown(columns: readonly string[]): readonly string[] {
    const parent = this.parent;
    return parent === null ? columns : columns.filter((column) => column !== parent.field);
  }

  /**
   * Shows another view: for a routed list, a new entry in the page's
   * history (`replace`, for a search, replaces its own).
   */
  navigate(query: ListQuery, replace = false): void {
    if (this.parent !== null) {
      const filters = this.without(query.filters ?? []);
      this.own.set({ ...query, filters: filters.length > 0 ? filters : undefined });
      return;
    }
    const params: Params = queryParams(query);
    if (query.page === 1) {
      delete params['page'];
    }
    if (query.pageSize === DEFAULT_PAGE_SIZE) {
      delete params['pageSize'];
    }
    const extras = { relativeTo: this.route, queryParams: params, replaceUrl: replace };
    void this.router.navigate([], extras);
  }

  private without(filters: readonly ListFilter[]): readonly ListFilter[] {
    const parent = this.parent;
    if (parent === null) {
      return filters;
    }
    const locked = parentFilter(parent);
    return filters.filter((f) => f.field !== locked.field || f.op !== locked.op);
  }
}
