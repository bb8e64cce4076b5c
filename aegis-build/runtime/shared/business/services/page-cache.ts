import { Injectable } from '@angular/core';

import { ListQuery, sameListQuery } from './list-query';

/** A live list's page as it stood when its list closed, exact up to `seq`. */
export interface KeptPage<T> {
  readonly query: ListQuery;
  readonly items: readonly T[];
  readonly total: number;
  readonly seq: number;
  /** When the page was last read from the server (`Date.now()`). */
  readonly readAt: number;
}

/**
 * The last page each feature's list showed, kept for the next list of that
 * feature: a list opened again on the same view inside the cache TTL shows
 * it at once and subscribes from its `seq`, so the server replays what
 * changed meanwhile (or asks for a read). One page per feature.
 */
@Injectable({ providedIn: 'root' })
export class PageCache {
  readonly #pages = new Map<string, KeptPage<unknown>>();

  keep<T>(feature: string, page: KeptPage<T>): void {
    this.#pages.set(feature, page);
  }

  /** The feature's kept page when it shows `query` and was read less than `ttlMs` ago; it is taken. */
  take<T>(feature: string, query: ListQuery, ttlMs: number): KeptPage<T> | null {
    const page = this.#pages.get(feature);
    this.#pages.delete(feature);
    if (
      page === undefined ||
      !sameListQuery(page.query, query) ||
      Date.now() - page.readAt >= ttlMs
    ) {
      return null;
    }
    // Kept by the state manager of the same feature, so of its rows.
    return page as KeptPage<T>;
  }
}
