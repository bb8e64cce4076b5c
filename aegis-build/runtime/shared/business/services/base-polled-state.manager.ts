import { Signal, signal } from '@angular/core';

import { ListResponse } from '../models/aegis-protocol.types';
import { EntityId, ListQuery, apiErrorMessage, conflictCurrent, newMutationId } from './aegis-api';

/**
 * The list of a feature without events: a page read when asked for, and
 * read again after each change this tab makes; other tabs' changes show at
 * the next load. It has the surface of `BaseRealtimeStateManager` that the
 * generated components use, so they are the same for both kinds of feature.
 */
export abstract class BasePolledStateManager<T extends object, Id extends EntityId, C, U> {
  readonly #items = signal<readonly T[]>([]);
  readonly #loading = signal(false);
  readonly #error = signal<string | null>(null);
  readonly #total = signal(0);
  #lastQuery: ListQuery | null = null;

  /** The loaded page, in the server's order. */
  readonly items: Signal<readonly T[]> = this.#items.asReadonly();
  readonly loading = this.#loading.asReadonly();
  readonly error = this.#error.asReadonly();
  /** Every item matching the query, on all pages. */
  readonly total = this.#total.asReadonly();

  protected abstract fetchPage(query: ListQuery): Promise<ListResponse<T>>;
  protected abstract sendCreate(input: C, mutationId: string): Promise<T>;
  protected abstract sendUpdate(id: Id, input: U, mutationId: string): Promise<T>;
  protected abstract sendDelete(id: Id, mutationId: string): Promise<void>;
  protected abstract idOf(item: T): Id;
  /** The item's version, or `null` when the entity has none. */
  protected abstract versionOf(item: T): number | null;
  /** The update that saves `item` as it is, based on `version`. */
  protected abstract toUpdate(item: T, version: number | null): U;

  /**
   * `conflictDetection: false`: a save based on an old version is sent
   * again on the current one (the last save wins) instead of failing 409.
   */
  protected constructor(private readonly options: { readonly conflictDetection?: boolean } = {}) {}

  /** Loads a page; an answer to an older query is dropped. */
  async load(query: ListQuery): Promise<void> {
    this.#lastQuery = query;
    this.#loading.set(true);
    this.#error.set(null);
    try {
      const page = await this.fetchPage(query);
      if (this.#lastQuery === query) {
        this.#items.set(page.data);
        this.#total.set(page.total);
      }
    } catch (error) {
      if (this.#lastQuery === query) {
        this.#error.set(apiErrorMessage(error));
      }
    } finally {
      if (this.#lastQuery === query) {
        this.#loading.set(false);
      }
    }
  }

  /** Loads the last query again. */
  reload(): Promise<void> {
    return this.#lastQuery === null ? Promise.resolve() : this.load(this.#lastQuery);
  }

  /** Creates an entity, then reloads the page. */
  async create(input: C): Promise<T> {
    const saved = await this.sendCreate(input, newMutationId());
    void this.reload();
    return saved;
  }

  /**
   * Saves changes, then reloads the page. `basedOn` is the item as the user
   * saw it when they started editing: its version is sent, so a change made
   * meanwhile elsewhere is refused (409) rather than silently overwritten.
   */
  async update(id: Id, changes: Partial<T>, basedOn?: T): Promise<T> {
    const current = basedOn ?? this.items().find((item) => this.idOf(item) === id);
    if (current === undefined) {
      throw new Error(`${String(id)} is not loaded`);
    }
    const input = this.toUpdate({ ...current, ...changes }, this.versionOf(current));
    const mutationId = newMutationId();
    const saved = await this.sendUpdate(id, input, mutationId).catch((error: unknown) => {
      const theirs = conflictCurrent(error, (value): value is T => typeof value === 'object' && value !== null);
      if (theirs === null || this.options.conflictDetection !== false) {
        throw error;
      }
      return this.sendUpdate(id, this.toUpdate({ ...theirs, ...changes }, this.versionOf(theirs)), mutationId);
    });
    void this.reload();
    return saved;
  }

  /** Deletes an entity, then reloads the page. */
  async remove(id: Id): Promise<void> {
    await this.sendDelete(id, newMutationId());
    void this.reload();
  }
}
