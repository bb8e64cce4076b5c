import { DestroyRef, Signal, computed, inject, signal } from '@angular/core';

import {
  EventMessage,
  EventMeta,
  ImportCompleted,
  ImportProgress,
  ImportStarted,
  JsonValue,
  ResyncReason,
} from '../models/aegis-protocol.types';
import { EntityId, conflictCurrent, isJsonObject } from './aegis-api';
import { ListQuery, sameListQuery } from './list-query';
import { OwnMutations } from './mutations';
import { FeatureSpec, FeatureState, saveOverConflict } from './feature-state';
import { FeatureImports, ImportTracker, RunningImport } from './import-tracker';
import { Conflict, ItemEvents, ItemNotices, RemoteChange, WatchedChange } from './item-events';
import {
  ListView,
  RowChange,
  StaleRefresh,
  ViewFields,
  applyToPage,
  compareInView,
  matchesView,
} from './list-view';
import { PageCache } from './page-cache';
import { ConnectionStatus, FeatureSubscriber, WebSocketService } from './websocket.service';

export type { Conflict, EntityId, ItemEvents, RemoteChange, RunningImport, WatchedChange };

/** What a live feature's state manager is configured with, beyond `FeatureSpec`. */
export interface RealtimeSpec<T, Id extends EntityId, C, U> extends FeatureSpec<T, Id, C, U> {
  /** The feature's channel, such as `budgets`. */
  readonly feature: string;
  /** The entity's name in events, such as `budget`. */
  readonly entity: string;
  /** How long a read page stays fresh (for this list, and the next one of its view); 0: never. */
  readonly cacheTtlMs: number;
  /** The list's fields: how rows are filtered, searched and ordered. */
  readonly fields: ViewFields;
  /** Changes show at once, undone if refused (default); off, once saved. */
  readonly optimisticUpdates?: boolean;
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
 * caches the last page (`PageCache`: kept for the next list of the same
 * view when this one closes). Imports are followed here, once: this tab's
 * own job (`importJob`) and every job of the feature (`imports`).
 */
export abstract class BaseRealtimeStateManager<T extends object, Id extends EntityId, C, U>
  implements FeatureState<T, Id, C>, FeatureSubscriber
{
  protected readonly websocket = inject(WebSocketService);
  readonly #pageCache = inject(PageCache);
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
  readonly error: Signal<string | null> = computed(
    () => this.#loadErrorSignal() ?? this.#subscriptionErrorSignal(),
  );
  /** How many entities the feature has in all (for the paginator). */
  readonly total = this.#totalSignal.asReadonly();
  readonly conflicts = this.#conflictsSignal.asReadonly();
  readonly connection: Signal<ConnectionStatus> = this.websocket.status;
  /** The feature's imports running now (dry runs left out), whoever started them. */
  readonly imports: Signal<readonly RunningImport[]> = this.#imports.running;
  /** The last import of the feature that finished (dry runs left out), whoever started it. */
  readonly finishedImport = this.#imports.finished;
  /** Rows of the page changed elsewhere in the last seconds, and by whom. */
  readonly recentChanges: Signal<Pick<ReadonlyMap<Id, RemoteChange>, 'get' | 'has'>> =
    this.#notices.recent;
  /** This tab's CSV import, followed through the events; `null` without import. */
  readonly importJob: ImportTracker | null;

  protected constructor(protected readonly config: RealtimeSpec<T, Id, C, U>) {
    this.importJob = config.imports === undefined ? null : new ImportTracker(config.imports);
    inject(DestroyRef).onDestroy(() => this.dispose());
  }

  idOf(item: T): Id {
    return this.config.idOf(item);
  }

  /** The last seq applied. */
  lastSeq(): number | null {
    return this.#seq;
  }

  /**
   * Loads a page. The same query inside the cache TTL, on a healthy
   * connection and with no resync since, sends no request.
   */
  async load(query: ListQuery, options: { readonly force?: boolean } = {}): Promise<void> {
    if (this.#lastQuery === null) {
      this.#adoptKeptPage(query);
    }
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
      const page = await this.config.api.list(query);
      if (this.#lastQuery !== query) {
        return;
      }
      behind = this.#liveFrom !== null && page.seq < this.#liveFrom;
      this.#liveFrom = null;
      this.#setItems(page.data);
      this.#totalSignal.set(page.total);
      this.#seq = Math.max(this.#seq ?? 0, page.seq);
      this.#loadedAt = Date.now();
      this.#cacheValid = true;
    } catch (error) {
      this.#loadErrorSignal.set(
        error instanceof Error ? error.message : `Failed to load ${this.config.feature}`,
      );
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
    return this.#lastQuery === null
      ? Promise.resolve()
      : this.load(this.#lastQuery, { force: true });
  }

  /** Creates an entity; it joins the list when the server has it. */
  async create(input: C): Promise<T> {
    const mutationId = this.#ownMutations.remember();
    const saved = await this.config.api.create(input, mutationId);
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
    const version = this.config.versionOf(basedOn ?? this.#current(id));
    return this.performOptimisticUpdate(id, changes, (item, mutationId) =>
      this.config.api.update(id, this.config.toUpdate(item, version), mutationId),
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
      await this.config.api.delete(id, mutationId);
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
    const entityId = this.config.idOf(conflict.theirs);
    this.#setItem(entityId, conflict.theirs);
    if (choice === 'mine') {
      await this.performOptimisticUpdate(entityId, conflict.mine, (item, mutationId) =>
        this.config.api.update(
          entityId,
          this.config.toUpdate(item, this.config.versionOf(conflict.theirs)),
          mutationId,
        ),
      );
    }
  }

  /** Replaces the store with a page, in its order. */
  #setItems(items: readonly T[]): void {
    this.#entities.clear();
    this.#hidden.clear();
    for (const item of items) {
      this.#entities.set(this.config.idOf(item), item);
    }
    this.#bump();
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
      const saved = await request(optimistic, mutationId).catch((error: unknown) =>
        saveOverConflict(this.config, id, changes, mutationId, error),
      );
      this.#pending.delete(id);
      this.#place({ kind: 'updated', item: saved });
      return saved;
    } catch (error) {
      this.#pending.delete(id);
      this.#ownMutations.take(mutationId);
      this.#setItem(id, before);
      const theirs = conflictCurrent(error, (value) => this.config.isEntity(value));
      if (theirs !== null && this.#detectsConflicts) {
        this.#addConflict({ id, mine: optimistic, theirs });
      }
      throw error;
    }
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
    void this.importJob?.recover();
  }

  onResync(_reason: ResyncReason): void {
    this.#recover();
    void this.importJob?.recover();
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

  /**
   * A page the last list of this view left, read inside the TTL: shown at
   * once, and the subscription that follows starts from its seq, so the
   * server replays what changed meanwhile. Only when this subscription is
   * the feature's first: one already held (by another list, or by the
   * labels of a reference) sends no `subscribe` and so replays nothing, and
   * the page is read instead.
   */
  #adoptKeptPage(query: ListQuery): void {
    const { feature, cacheTtlMs } = this.config;
    const kept = cacheTtlMs > 0 ? this.#pageCache.take<T>(feature, query, cacheTtlMs) : null;
    if (kept === null || this.websocket.features().includes(feature)) {
      return;
    }
    this.#lastQuery = query;
    this.#setItems(kept.items);
    this.#totalSignal.set(kept.total);
    this.#seq = kept.seq;
    this.#loadedAt = kept.readAt;
    this.#cacheValid = true;
  }

  /** Stops following the feature's events; a settled page is kept for the next list of its view. */
  dispose(): void {
    const settled =
      this.#cacheValid &&
      this.#buffered === null &&
      !this.#stale.marked &&
      this.#pending.size === 0 &&
      this.#hidden.size === 0 &&
      this.#ownMutations.outstanding === 0 &&
      this.conflicts().length === 0;
    if (settled && this.#lastQuery !== null && this.#seq !== null && this.config.cacheTtlMs > 0) {
      const query = this.#lastQuery;
      this.#pageCache.keep(this.config.feature, {
        query,
        items: [...this.#entities.values()],
        total: this.#totalSignal(),
        seq: this.#seq,
        readAt: this.#loadedAt,
      });
    }
    this.#lastQuery = null;
    this.importJob?.reset();
    this.#stopListening?.();
    this.#stopListening = null;
    this.#stale.cancel();
    this.#notices.dispose();
  }

  #apply(event: EventMessage): void {
    if (
      event.entity !== this.config.entity ||
      (this.#seq !== null && event.meta.seq <= this.#seq)
    ) {
      return;
    }
    this.#seq = event.meta.seq;
    const origin = event.meta.origin;
    const own = origin !== null && this.#ownMutations.take(origin);
    switch (event.action) {
      case 'created':
      case 'updated': {
        if (this.config.isEntity(event.data) && !own) {
          this.#receive(event.data, event.action, event.meta);
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
          this.#notices.tellWatchers(id, {
            action: 'deleted',
            item: null,
            userId: event.meta.userId,
          });
          this.#notices.deleted(known ?? (id as Id), event.meta);
        }
        break;
      }
      case 'import_started': {
        const data = event.data as unknown as ImportStarted;
        this.#trackImport(
          { jobId: data.jobId, progress: 0, processedRows: 0, totalRows: data.totalRows },
          data.dryRun,
        );
        this.importJob?.onStarted(data);
        break;
      }
      case 'import_progress': {
        const data = event.data as unknown as ImportProgress;
        this.#trackImport(data, data.dryRun);
        this.importJob?.onProgress(data);
        break;
      }
      case 'import_completed': {
        const data = event.data as unknown as ImportCompleted;
        this.#trackImport(null, data.dryRun, data);
        this.importJob?.onCompleted(data);
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
    const id = this.config.idOf(item);
    if (action === 'updated') {
      this.#notices.tellWatchers(id, { action, item, userId: meta.userId });
    }
    const local = this.#entities.get(id);
    const pending = this.#pending.get(id);
    if (pending !== undefined && local !== undefined && this.#detectsConflicts) {
      this.#addConflict({ id, mine: local, theirs: item, by: meta.userId });
      return;
    }
    const localVersion = local === undefined ? null : this.config.versionOf(local);
    const remoteVersion = this.config.versionOf(item);
    if (localVersion !== null && remoteVersion !== null && remoteVersion <= localVersion) {
      return;
    }
    this.#place({ kind: action, item });
    if (this.#entities.has(id)) {
      this.#notices.highlight(id, { action, userId: meta.userId });
    }
    if (action === 'created') {
      this.#notices.created(item, meta);
    } else {
      this.#notices.updated(item, meta);
    }
  }

  #view(query: ListQuery): ListView<T> {
    return { query, fields: this.config.fields, idOf: (item) => this.config.idOf(item) };
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
      const id = this.config.idOf(change.item);
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
      const kept = new Set<Id>(result.items.map((item) => this.config.idOf(item)));
      this.#entities.clear();
      for (const item of result.items) {
        this.#entities.set(this.config.idOf(item), item);
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
