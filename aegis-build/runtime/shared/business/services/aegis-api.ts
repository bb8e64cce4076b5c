import { HttpErrorResponse, HttpInterceptorFn } from '@angular/common/http';
import { InjectionToken, inject } from '@angular/core';
import { from, switchMap } from 'rxjs';

import {
  ApiError,
  FILTER_OPS,
  FieldError,
  FilterOp,
  JsonObject,
  JsonValue,
  MUTATION_ID_HEADER,
} from '../models/aegis-protocol.types';

// Declared in Rust (aegis-protocol) and generated; here for the runtime's importers.
export type { FilterOp };
export { MUTATION_ID_HEADER };

/** Where the Aegis back end is, and how to authenticate to it. */
export interface AegisConfig {
  /** The REST API's base, such as `/api`. */
  readonly apiBaseUrl: string;
  /** The WebSocket endpoint; a path such as `/ws` is taken relative to the page. */
  readonly websocketUrl: string;
  /** A current bearer token; called again whenever a fresh one is needed. */
  readonly token: () => Promise<string>;
  /** Logs every WebSocket frame to the console (`console.debug`, tokens left out); off by default. */
  readonly debug?: boolean;
}

/** Provide this once, at the application's root. */
export const AEGIS_CONFIG = new InjectionToken<AegisConfig>('AEGIS_CONFIG');

/** An entity's id: a number or a string, as the Rust id serialises. */
export type EntityId = number | string;

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
    a.page === b.page && a.pageSize === b.pageSize && a.sort === b.sort && a.q === b.q && filters(a) === filters(b)
  );
}

/** Whether a JSON value is an object (not an array, not `null`). */
export function isJsonObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

/** A fresh client mutation id. */
export function newMutationId(): string {
  return crypto.randomUUID();
}

/**
 * The mutation ids of a client's own changes, so that their echoes are
 * known; past `limit`, the oldest are forgotten.
 */
export class OwnMutations {
  readonly #ids = new Set<string>();

  constructor(private readonly limit: number) {}

  /** A fresh id, remembered. */
  remember(): string {
    const id = newMutationId();
    this.#ids.add(id);
    if (this.#ids.size > this.limit) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) {
        this.#ids.delete(oldest);
      }
    }
    return id;
  }

  /** Whether `id` is one of ours; it is forgotten either way (an echo comes once). */
  take(id: string): boolean {
    return this.#ids.delete(id);
  }
}

/** Adds the bearer token to every request for the Aegis API. */
export const aegisAuthInterceptor: HttpInterceptorFn = (request, next) => {
  const config = inject(AEGIS_CONFIG);
  if (!request.url.startsWith(config.apiBaseUrl)) {
    return next(request);
  }
  return from(config.token()).pipe(
    switchMap((token) => next(request.clone({ setHeaders: { Authorization: `Bearer ${token}` } }))),
  );
};

function isApiError(body: unknown): body is ApiError {
  return (
    typeof body === 'object' &&
    body !== null &&
    'message' in body &&
    typeof body.message === 'string' &&
    'code' in body &&
    typeof body.code === 'string'
  );
}

/** A message for a person, from whatever a request failed with. */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof HttpErrorResponse) {
    if (isApiError(error.error)) {
      return error.error.message;
    }
    return error.status === 0 ? 'The server cannot be reached.' : `The server answered ${error.status}.`;
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** The per-field problems of a 422, if that is what a request failed with. */
export function apiFieldErrors(error: unknown): readonly FieldError[] {
  if (error instanceof HttpErrorResponse && error.status === 422 && isApiError(error.error)) {
    return error.error.fields ?? [];
  }
  return [];
}

/** The entity as it is now on the server, if a save failed with 409. */
export function conflictCurrent<T>(error: unknown, isEntity: (value: unknown) => value is T): T | null {
  if (!(error instanceof HttpErrorResponse) || error.status !== 409) {
    return null;
  }
  const body: unknown = error.error;
  if (typeof body === 'object' && body !== null && 'current' in body && isEntity(body.current)) {
    return body.current;
  }
  return null;
}
