import { FILTER_OPS, FilterOp } from '../models/aegis-protocol.types';

// Declared in Rust (aegis-protocol) and generated; here for the runtime's importers.
export type { FilterOp };

/** One filter of a list: `<field>.<op>=<value>` in its query string (`in`: comma-separated). */
export interface ListFilter {
  readonly field: string;
  readonly op: FilterOp;
  readonly value: string;
}

/**
 * One page of a feature's list: 1-based `page`; `sort` is a field,
 * `-field` for descending; `q` searches the text fields; a row passes
 * every filter.
 */
export interface ListQuery {
  readonly page: number;
  readonly pageSize: number;
  readonly sort?: string;
  readonly q?: string;
  readonly filters?: readonly ListFilter[];
}

/** Whether two queries ask for the same page of the same view. */
export function sameListQuery(a: ListQuery, b: ListQuery): boolean {
  const filters = (query: ListQuery): string => JSON.stringify(query.filters ?? []);
  return (
    a.page === b.page &&
    a.pageSize === b.pageSize &&
    a.sort === b.sort &&
    a.q === b.q &&
    filters(a) === filters(b)
  );
}

/**
 * A query's parameters as the REST API and the page's URL take them;
 * `paging: false` leaves out the page (an export, a bulk delete).
 */
export function queryParams(query: ListQuery, paging = true): Record<string, string> {
  const params: Record<string, string> = {};
  if (paging) {
    params['page'] = String(query.page);
    params['pageSize'] = String(query.pageSize);
  }
  if (query.sort) {
    params['sort'] = query.sort;
  }
  if (query.q) {
    params['q'] = query.q;
  }
  for (const filter of query.filters ?? []) {
    params[`${filter.field}.${filter.op}`] = filter.value;
  }
  return params;
}

/** A query string (`a=1&b=2`) of the parameters. */
export function queryString(params: Readonly<Record<string, string>>): string {
  return new URLSearchParams(params).toString();
}

/**
 * The query in a page's URL parameters: what `queryParams` wrote, with
 * `defaults` for what is missing; parameters that are no filter are left out.
 */
export function queryFromParams(
  params: Readonly<Record<string, unknown>>,
  defaults: { readonly pageSize: number },
): ListQuery {
  const text = (key: string): string | undefined => {
    const value = params[key];
    return typeof value === 'string' ? value : undefined;
  };
  const whole = (value: string | undefined, fallback: number): number => {
    const n = Number(value);
    return value !== undefined && Number.isInteger(n) && n >= 1 ? n : fallback;
  };
  const filters: ListFilter[] = [];
  for (const [key, value] of Object.entries(params)) {
    const dot = key.lastIndexOf('.');
    const op = key.slice(dot + 1) as FilterOp;
    if (dot > 0 && typeof value === 'string' && FILTER_OPS.includes(op)) {
      filters.push({ field: key.slice(0, dot), op, value });
    }
  }
  const sort = text('sort');
  const q = text('q');
  return {
    page: whole(text('page'), 1),
    pageSize: whole(text('pageSize'), defaults.pageSize),
    ...(sort ? { sort } : {}),
    ...(q ? { q } : {}),
    ...(filters.length > 0 ? { filters } : {}),
  };
}

/** What a bulk delete removes: these rows, or every row of a query's view. */
export type BulkTarget<Id> = { readonly ids: readonly Id[] } | { readonly query: ListQuery };

/** A bulk delete's body: the ids, or the view's query string (its order left out). */
export function bulkDeleteBody<Id>(
  target: BulkTarget<Id>,
): { ids: readonly Id[] } | { query: string } {
  if ('ids' in target) {
    return { ids: target.ids };
  }
  return { query: queryString(queryParams({ ...target.query, sort: undefined }, false)) };
}
