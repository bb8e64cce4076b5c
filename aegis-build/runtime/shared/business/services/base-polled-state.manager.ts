import { DestroyRef, Signal, inject, signal } from '@angular/core';

import { EntityId, apiErrorMessage } from './aegis-api';
import { ListQuery } from './list-query';
import { newMutationId } from './mutations';
import { FeatureSpec, FeatureState, saveOverConflict } from './feature-state';
import { ImportTracker } from './import-tracker';

/** How often a feature without events polls its running import. */
const IMPORT_POLL_MS = 1_000;

/**
 * The list of a feature without events: a page read when asked for, and
 * read again after each change this tab makes; other tabs' changes show at
 * the next load. Its import is followed by polling the job's status.
 */
export abstract class BasePolledStateManager<
  T extends object,
  Id extends EntityId,
  C,
  U,
> implements FeatureState<T, Id, C> {
  readonly #items = signal<readonly T[]>([]);
  readonly #loading = signal(false);
  readonly #error = signal<string | null>(null);
  readonly #total = signal(0);
  #lastQuery: ListQuery | null = null;

  readonly items: Signal<readonly T[]> = this.#items.asReadonly();
  readonly loading = this.#loading.asReadonly();
  readonly error = this.#error.asReadonly();
  readonly total = this.#total.asReadonly();
  readonly importJob: ImportTracker | null;

  protected constructor(private readonly spec: FeatureSpec<T, Id, C, U>) {
    this.importJob =
      spec.imports === undefined
        ? null
        : new ImportTracker(spec.imports, {
            pollIntervalMs: IMPORT_POLL_MS,
            onImported: () => void this.reload(),
          });
    inject(DestroyRef).onDestroy(() => this.dispose());
  }

  idOf(item: T): Id {
    return this.spec.idOf(item);
  }

  /** Loads a page; an answer to an older query is dropped. */
  async load(query: ListQuery): Promise<void> {
    this.#lastQuery = query;
    this.#loading.set(true);
    this.#error.set(null);
    try {
      const page = await this.spec.api.list(query);
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

  reload(): Promise<void> {
    return this.#lastQuery === null ? Promise.resolve() : this.load(this.#lastQuery);
  }

  /** Creates an entity, then reloads the page. */
  async create(input: C): Promise<T> {
    const saved = await this.spec.api.create(input, newMutationId());
    void this.reload();
    return saved;
  }

  /** Saves changes, then reloads the page. */
  async update(id: Id, changes: Partial<T>, basedOn?: T): Promise<T> {
    const current = basedOn ?? this.items().find((item) => this.spec.idOf(item) === id);
    if (current === undefined) {
      throw new Error(`${String(id)} is not loaded`);
    }
    const input = this.spec.toUpdate({ ...current, ...changes }, this.spec.versionOf(current));
    const mutationId = newMutationId();
    const saved = await this.spec.api
      .update(id, input, mutationId)
      .catch((error: unknown) => saveOverConflict(this.spec, id, changes, mutationId, error));
    void this.reload();
    return saved;
  }

  /** Deletes an entity, then reloads the page. */
  async remove(id: Id): Promise<void> {
    await this.spec.api.delete(id, newMutationId());
    void this.reload();
  }

  dispose(): void {
    this.importJob?.reset();
    this.#lastQuery = null;
  }
}
