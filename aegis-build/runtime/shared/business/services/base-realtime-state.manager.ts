import { Signal, computed, inject, signal } from '@angular/core';

import {
  EventMessage,
  EventMeta,
  ImportCompleted,
  ImportProgress,
  ImportStarted,
  JsonObject,
  JsonValue,
  ListResponse,
  ResyncReason,
} from '../models/aegis-protocol.types';
import { EntityId, ListQuery, OwnMutations, conflictCurrent, isJsonObject, sameListQuery } from './aegis-api';
import { FeatureImports, RunningImport } from './import-tracker';
import { Conflict, ItemEvents, ItemNotices, RemoteChange, WatchedChange } from './item-events';
import { ListView, RowChange, StaleRefresh, ViewFields, applyToPage, compareInView, matchesView } from './list-view';
import { ConnectionStatus, FeatureSubscriber, WebSocketService } from './websocket.service';

export type { Conflict, EntityId, ItemEvents, RemoteChange, RunningImport, WatchedChange };

/** What a state manager is about. */
export interface StateManagerConfig {
  /** The feature's channel, such as `budgets`. */
  readonly feature: string;
  /** The entity's name in events, such as `budget`. */
  readonly entity: string;
  /** How long a loaded page stays fresh while the connection is healthy. */
  readonly cacheTtlMs: number;
  /** The list's fields: how rows are filtered, searched and ordered. */
  readonly fields: ViewFields;
  /** Changes show at once, undone if refused (default); off, once saved. */
  readonly optimisticUpdates?: boolean;
  /**
   * A save based on an old version, or a remote change over a pending
   * one, is a conflict to settle (default); off, the last save wins.
   */
  readonly conflictDetection?: boolean;
}

interface Pending<T> {
  /** The exact item before the optimistic change. */
  readonly before: T;
  readonly mutationId: string;
}

/** Own mutation ids remembered for echo suppression, at most. */
const MAX_OWN_MUTATIONS = 1_000;

/** How long a stale page waits for more events before it is read again, and at most. */
const REFRESH_DELAY_MS = 250;
const REFRESH_MAX_DELAY_MS = 1_000;

/** How long a row changed elsewhere stays marked. */
const HIGHLIGHT_MS = 4_000;

/**
 * A feature's live list: one page of a query (filters, search, sort). The
 * store is normalised — a `Map` by id, whose insertion order is the page's
 * order — so a row changed where it stands costs O(1). It follows the
 * feature's events as a fresh load of the same query would show them
 * (`list-view.ts`: a matching row enters in order, a row that stops
 * matching leaves, the total follows; when a row may move through another
 * page, the page is read again), applies local changes optimistically and
 * restores the exact prior state when the server refuses one, detects
 * conflicting edits (a remote update over a pending local one, or a 409),
 * ignores the echo of its own changes, marks rows changed elsewhere with
 * who changed them, tells listeners (`on`) of changes made elsewhere, and
 * caches the last page.
 */
export abstract class BaseRealtimeStateManager<T extends object, Id extends EntityId, C, U>
  implements FeatureSubscriber
{
  protected readonly websocket = inject(WebSocketService);
  readonly #entities = new Map<Id, T>();
  /** Ids removed optimistically: hidden until the server confirms. */
  readonly #hidden = new Set<Id>();
  readonly #revision = signal(0);
  readonly #pending = new Map<Id, Pending<T>>();
  readonly #ownMutations = new OwnMutations(MAX_OWN_MUTATIONS);
  readonly #loadingSignal = signal(false);
  /** Why the last page could not be read, until one is. */
  readonly #loadErrorSignal = signal<string | null>(null);
  /** Why the server refused the feature's subscription, until it is subscribed. */
  readonly #subscriptionErrorSignal = signal<string | null>(null);
  readonly #totalSignal = signal(0);
  readonly #conflictsSignal = signal<readonly Conflict<T>[]>([]);
  #seq: number | null = null;
  #lastQuery: ListQuery | null = null;
  #loadedAt = 0;
  #cacheValid = false;
  /** Events that arrive while a page loads, applied after it. */
  #buffered: EventMessage[] | null = null;
  /** Where a subscription that replayed nothing went live, until a page lands: one read before it missed events. */
  #liveFrom: number | null = null;
  #stopListening: (() => void) | null = null;
  readonly #stale = new StaleRefresh(REFRESH_DELAY_MS, REFRESH_MAX_DELAY_MS, () => {
    this.#cacheValid = false;
    void this.reload();
  });
  readonly #notices = new ItemNotices<T, Id>(HIGHLIGHT_MS);
  readonly #imports = new FeatureImports();

  /** The current page, in order. */
  readonly items: Signal<readonly T[]> = computed(() => {
    this.#revision();
    const items: T[] = [];
    for (const [id, item] of this.#entities) {
      if (!this.#hidden.has(id)) {
        items.push(item);
      }
    }
    return items;
  });
  readonly loading = this.#loadingSignal.asReadonly();
  /** What keeps the list from being current: its read first, else its subscription. */
  readonly error: Signal<string | null> = computed(() => this.#loadErrorSignal() ?? this.#subscriptionErrorSignal());
  /** How many entities the feature has in all (for the paginator). */
  readonly total = this.#totalSignal.asReadonly();
  readonly conflicts = this.#conflictsSignal.asReadonly();
  readonly connection: Signal<ConnectionStatus> = this.websocket.status;
  /** The feature's imports running now (dry runs left out), whoever started them. */
  readonly imports: Signal<readonly RunningImport[]> = this.#imports.running;
  /** The last import of the feature that finished (dry runs left out), whoever started it. */
  readonly finishedImport = this.#imports.finished;
  /** Rows of the page changed elsewhere in the last seconds, and by whom. */
  readonly recentChanges: Signal<Pick<ReadonlyMap<Id, RemoteChange>, 'get' | 'has'>> = this.#notices.recent;

  protected constructor(protected readonly config: StateManagerConfig) {}

  protected abstract fetchPage(query: ListQuery): Promise<ListResponse<T>>;
  protected abstract sendCreate(input: C, mutationId: string): Promise<T>;
  protected abstract sendUpdate(id: Id, input: U, mutationId: string): Promise<T>;
  protected abstract sendDelete(id: Id, mutationId: string): Promise<void>;
  protected abstract idOf(item: T): Id;
  /** The item's version, or `null` when the entity has none. */
  protected abstract versionOf(item: T): number | null;
  /** The update that saves `item` as it is, based on `version`. */
  protected abstract toUpdate(item: T, version: number | null): U;
  /** The entity in an event's data, or `null` when it is not one. */
  protected abstract entityFrom(data: JsonObject): T | null;
  /** The entity in a 409's body, or `null` when it is not one. */
  protected abstract isEntity(value: unknown): value is T;

  /** The last seq applied. */
  lastSeq(): number | null {
    return this.#seq;
  }

  /**
   * Loads a page. The same query inside the cache TTL, on a healthy
   * connection and with no resync since, sends no request.
   */
  async load(query: ListQuery, options: { readonly force?: boolean } = {}): Promise<void> {
    this.#listen();
    const fresh =
      this.#cacheValid &&
      this.#lastQuery !== null &&
      sameListQuery(this.#lastQuery, query) &&
      Date.now() - this.#loadedAt < this.config.cacheTtlMs &&
      this.connection() === 'connected';
    if (fresh && !options.force) {
      return;
    }
    this.#lastQuery = query;
    this.#loadingSignal.set(true);
    this.#loadErrorSignal.set(null);
    this.#buffered ??= [];
    this.#stale.cancel();
    let behind = false;
    try {
      const page = await this.fetchPage(query);
      if (this.#lastQuery !== query) {
        return;
      }
      behind = this.#liveFrom !== null && page.seq < this.#liveFrom;
      this.#liveFrom = null;
      this.setItems(page.data);
      this.#totalSignal.set(page.total);
      this.#seq = Math.max(this.#seq ?? 0, page.seq);
      this.#loadedAt = Date.now();
      this.#cacheValid = true;
    } catch (error) {
      this.#loadErrorSignal.set(error instanceof Error ? error.message : `Failed to load ${this.config.feature}`);
      this.#cacheValid = false;
    } finally {
      if (this.#lastQuery === query) {
        const buffered = this.#buffered ?? [];
        this.#buffered = null;
        this.#loadingSignal.set(false);
        buffered.forEach((event) => this.#apply(event));
        if (behind) {
          this.#recover();
        }
      }
    }
  }

  /** Loads the last query again, from the server. */
  reload(): Promise<void> {
    return this.#lastQuery === null ? Promise.resolve() : this.load(this.#lastQuery, { force: true });
  }

  /** Creates an entity; it joins the list when the server has it. */
  async create(input: C): Promise<T> {
    const mutationId = this.#ownMutations.remember();
    const saved = await this.sendCreate(input, mutationId);
    this.#place({ kind: 'created', item: saved });
    return saved;
  }

  /**
   * Saves changes optimistically: shown at once, undone if the server
   * refuses. `basedOn` is the item as the user saw it when they started
   * editing: its version is sent, so a change made meanwhile elsewhere is a
   * conflict rather than silently overwritten.
   */
  update(id: Id, changes: Partial<T>, basedOn?: T): Promise<T> {
    const version = this.versionOf(basedOn ?? this.#current(id));
    return this.performOptimisticUpdate(id, changes, (item, mutationId) =>
      this.sendUpdate(id, this.toUpdate(item, version), mutationId),
    );
  }

  get #optimistic(): boolean {
    return this.config.optimisticUpdates !== false;
  }

  get #detectsConflicts(): boolean {
    return this.config.conflictDetection !== false;
  }

  /** Deletes optimistically: hidden at once, shown again if the server refuses. */
  async remove(id: Id): Promise<void> {
    const mutationId = this.#ownMutations.remember();
    if (this.#optimistic) {
      this.#hidden.add(id);
      this.#bump();
    }
    try {
      await this.sendDelete(id, mutationId);
      this.#hidden.delete(id);
      this.#place({ kind: 'deleted', id });
    } catch (error) {
      this.#ownMutations.take(mutationId);
      this.#hidden.delete(id);
      this.#bump();
      throw error;
    }
  }

  /** Settles a conflict: keep this tab's change (saved over theirs) or take theirs. */
  async resolveConflict(id: EntityId, choice: 'mine' | 'theirs'): Promise<void> {
    const conflict = this.conflicts().find((c) => c.id === id);
    if (conflict === undefined) {
      return;
    }
    this.#conflictsSignal.update((all) => all.filter((c) => c.id !== id));
    const entityId = this.idOf(conflict.theirs);
    this.#setItem(entityId, conflict.theirs);
    if (choice === 'mine') {
      await this.performOptimisticUpdate(entityId, conflict.mine, (item, mutationId) =>
        this.sendUpdate(entityId, this.toUpdate(item, this.versionOf(conflict.theirs)), mutationId),
      );
    }
  }

  /** Replaces the store with a page, in its order. */
  protected setItems(items: readonly T[]): void {
    this.#entities.clear();
    this.#hidden.clear();
    for (const item of items) {
      this.#entities.set(this.idOf(item), item);
    }
    this.#bump();
  }

  /** Applies a created, updated or deleted row to the page, as a fresh load would show it. */
  protected applyChange(change: RowChange<T>): void {
    this.#place(change);
  }

  /**
   * Subscribes to changes made elsewhere (other tabs, users, imports):
   * `created`, `updated` (with the row) or `deleted` (with its id).
   * Returns the unsubscribe function.
   */
  on<K extends keyof ItemEvents<T, Id>>(kind: K, listener: ItemEvents<T, Id>[K]): () => void {
    return this.#notices.on(kind, listener);
  }

  /**
   * Hears of changes made elsewhere to one row, wherever it is (an open
   * edit dialog, say); returns the unsubscribe function.
   */
  watch(id: Id, listener: (change: WatchedChange<T>) => void): () => void {
    return this.#notices.watch(id, listener);
  }

  /** A row created elsewhere reached the feature; calls the `created` listeners. */
  protected onItemCreated(item: T, meta: EventMeta): void {
    this.#notices.created(item, meta);
  }

  /** A row changed elsewhere; calls the `updated` listeners. */
  protected onItemUpdated(item: T, meta: EventMeta): void {
    this.#notices.updated(item, meta);
  }

  /** A row deleted elsewhere; calls the `deleted` listeners. */
  protected onItemDeleted(id: Id, meta: EventMeta): void {
    this.#notices.deleted(id, meta);
  }

  /**
   * Applies `changes` at once, sends them, and on failure restores the exact
   * item that was there; a 409 becomes a conflict to resolve.
   */
  protected async performOptimisticUpdate(
    id: Id,
    changes: Partial<T>,
    request: (item: T, mutationId: string) => Promise<T>,
  ): Promise<T> {
    const before = this.#current(id);
    const mutationId = this.#ownMutations.remember();
    const optimistic: T = { ...before, ...changes };
    this.#pending.set(id, { before, mutationId });
    if (this.#optimistic) {
      this.#setItem(id, optimistic);
    }
    try {
      const saved = await request(optimistic, mutationId).catch((error: unknown) => {
        const theirs = conflictCurrent(error, (value) => this.isEntity(value));
        if (theirs === null || this.#detectsConflicts) {
          throw error;
        }
        // The last save wins: the same changes, on their version.
        return this.sendUpdate(id, this.toUpdate({ ...theirs, ...changes }, this.versionOf(theirs)), mutationId);
      });
      this.#pending.delete(id);
      this.#place({ kind: 'updated', item: saved });
      return saved;
    } catch (error) {
      this.#pending.delete(id);
      this.#ownMutations.take(mutationId);
      this.#setItem(id, before);
      const theirs = conflictCurrent(error, (value) => this.isEntity(value));
      if (theirs !== null && this.#detectsConflicts) {
        this.#addConflict({ id, mine: optimistic, theirs });
      }
      throw error;
    }
  }

  /** Import hooks, for features with import (the state manager tracks the jobs itself). */
  protected onImportStarted(_data: ImportStarted): void {
    // Nothing by default.
  }
  protected onImportProgress(_data: ImportProgress): void {
    // Nothing by default.
  }
  protected onImportCompleted(_data: ImportCompleted): void {
    // Nothing by default.
  }
  /** The feature's events may have been missed (a reconnect, a resync): what follows jobs reads their status. */
  protected onRecovering(): void {
    // Nothing by default.
  }

  onEvent(event: EventMessage): void {
    if (this.#buffered !== null) {
      this.#buffered.push(event);
    } else {
      this.#apply(event);
    }
  }

  onSubscribed(seq: number, recovered: boolean): void {
    this.#subscriptionErrorSignal.set(null);
    // Without a replay, events come from `seq` on: a page that holds less
    // missed some (one loading now is checked when it lands).
    this.#liveFrom = recovered ? null : seq;
    if (!recovered && this.#buffered === null && this.#seq !== null && this.#seq < seq) {
      this.#recover();
    }
    this.onRecovering();
  }

  onResync(_reason: ResyncReason): void {
    this.#recover();
    this.onRecovering();
  }

  /** Reads the page again: events were missed. */
  #recover(): void {
    this.#cacheValid = false;
    // Whatever jobs were running, their ends may be lost with the gap.
    this.#imports.clear();
    void this.reload();
  }

  onError(message: string): void {
    this.#subscriptionErrorSignal.set(message);
  }

  #listen(): void {
    this.#stopListening ??= this.websocket.subscribe(this.config.feature, this);
  }

  /** Stops following the feature's events. */
  dispose(): void {
    this.#stopListening?.();
    this.#stopListening = null;
    this.#stale.cancel();
    this.#notices.dispose();
  }

  #apply(event: EventMessage): void {
    if (event.entity !== this.config.entity || (this.#seq !== null && event.meta.seq <= this.#seq)) {
      return;
    }
    this.#seq = event.meta.seq;
    const origin = event.meta.origin;
    const own = origin !== null && this.#ownMutations.take(origin);
    switch (event.action) {
      case 'created':
      case 'updated': {
        const item = isJsonObject(event.data) ? this.entityFrom(event.data) : null;
        if (item !== null && !own) {
          this.#receive(item, event.action, event.meta);
        }
        break;
      }
      case 'deleted': {
        const id = isJsonObject(event.data) ? event.data['id'] : undefined;
        if ((typeof id === 'number' || typeof id === 'string') && !own) {
          const known = this.#entityKey(id);
          if (known !== undefined) {
            this.#hidden.delete(known);
          }
          this.#place({ kind: 'deleted', id: known ?? id });
          this.#notices.tellWatchers(id, { action: 'deleted', item: null, userId: event.meta.userId });
          this.onItemDeleted(known ?? (id as Id), event.meta);
        }
        break;
      }
      case 'import_started': {
        const data = event.data as unknown as ImportStarted;
        this.#trackImport({ jobId: data.jobId, progress: 0, processedRows: 0, totalRows: data.totalRows }, data.dryRun);
        this.onImportStarted(data);
        break;
      }
      case 'import_progress': {
        const data = event.data as unknown as ImportProgress;
        this.#trackImport(data, data.dryRun);
        this.onImportProgress(data);
        break;
      }
      case 'import_completed': {
        const data = event.data as unknown as ImportCompleted;
        this.#trackImport(null, data.dryRun, data);
        this.onImportCompleted(data);
        break;
      }
    }
  }

  /** Follows the feature's (real) imports; a finished one that wrote rows reloads the page. */
  #trackImport(running: RunningImport | null, dryRun: boolean, completed?: ImportCompleted): void {
    if (this.#imports.track(running, dryRun, completed)) {
      this.#cacheValid = false;
      void this.reload();
    }
  }

  /** A created or updated entity from elsewhere (the echo of ours is settled by its request). */
  #receive(item: T, action: 'created' | 'updated', meta: EventMeta): void {
    const id = this.idOf(item);
    if (action === 'updated') {
      this.#notices.tellWatchers(id, { action, item, userId: meta.userId });
    }
    const local = this.#entities.get(id);
    const pending = this.#pending.get(id);
    if (pending !== undefined && local !== undefined && this.#detectsConflicts) {
      this.#addConflict({ id, mine: local, theirs: item, by: meta.userId });
      return;
    }
    const localVersion = local === undefined ? null : this.versionOf(local);
    const remoteVersion = this.versionOf(item);
    if (localVersion !== null && remoteVersion !== null && remoteVersion <= localVersion) {
      return;
    }
    this.#place({ kind: action, item });
    if (this.#entities.has(id)) {
      this.#notices.highlight(id, { action, userId: meta.userId });
    }
    if (action === 'created') {
      this.onItemCreated(item, meta);
    } else {
      this.onItemUpdated(item, meta);
    }
  }

  #view(query: ListQuery): ListView<T> {
    return { query, fields: this.config.fields, idOf: (item) => this.idOf(item) };
  }

  /**
   * A change on the page, as a fresh load of the same query would show it;
   * a page that may now differ from that is read again shortly.
   */
  #place(change: RowChange<T>): void {
    const query = this.#lastQuery;
    if (query === null) {
      return;
    }
    const view = this.#view(query);
    // The common cases, in O(1): a loaded row changed where it stands, or deleted.
    if (change.kind !== 'deleted') {
      const id = this.idOf(change.item);
      const old = this.#entities.get(id);
      if (
        old !== undefined &&
        matchesView(change.item, query, view.fields) === true &&
        compareInView(old, change.item, view) === 0
      ) {
        this.#setItem(id, change.item);
        return;
      }
    } else if (this.#entities.has(change.id as Id)) {
      const loaded = this.#entities.size;
      this.#entities.delete(change.id as Id);
      this.#hidden.delete(change.id as Id);
      const total = this.#totalSignal();
      this.#totalSignal.set(Math.max(0, total - 1));
      this.#bump();
      if (total > (query.page - 1) * query.pageSize + loaded) {
        this.#stale.mark();
      }
      return;
    }
    const items = [...this.#entities.values()];
    const result = applyToPage(view, { items, total: this.#totalSignal() }, change);
    // A row off the page that stays off it (most events of a large
    // feature) leaves the page as it was: nothing to render again.
    if (result.items !== items) {
      const kept = new Set<Id>(result.items.map((item) => this.idOf(item)));
      this.#entities.clear();
      for (const item of result.items) {
        this.#entities.set(this.idOf(item), item);
      }
      for (const id of [...this.#hidden]) {
        if (!kept.has(id)) {
          this.#hidden.delete(id);
        }
      }
      this.#bump();
    }
    this.#totalSignal.set(result.total);
    if (result.stale) {
      this.#stale.mark();
    }
  }

  /** The store's key equal to a JSON id. */
  #entityKey(id: JsonValue | undefined): Id | undefined {
    if (typeof id !== 'number' && typeof id !== 'string') {
      return undefined;
    }
    for (const candidate of [id, String(id), Number(id)]) {
      if (this.#entities.has(candidate as Id)) {
        return candidate as Id;
      }
    }
    return undefined;
  }

  #setItem(id: Id, item: T): void {
    this.#entities.set(id, item);
    this.#bump();
  }

  #current(id: Id): T {
    const item = this.#entities.get(id);
    if (item === undefined) {
      throw new Error(`${this.config.entity} ${String(id)} is not loaded`);
    }
    return item;
  }

  #addConflict(conflict: Conflict<T>): void {
    this.#conflictsSignal.update((all) => [...all.filter((c) => c.id !== conflict.id), conflict]);
  }

  #bump(): void {
    this.#revision.update((n) => n + 1);
  }
}
