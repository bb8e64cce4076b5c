import { Signal, computed, signal } from '@angular/core';

import { EventMeta } from '../models/aegis-protocol.types';

/** A local change that met a different change from elsewhere. */
export interface Conflict<T> {
  readonly id: number | string;
  /** What this tab tried to save. */
  readonly mine: T;
  /** What the server has now. */
  readonly theirs: T;
  /** Who made their change, when an event said so (a 409 does not). */
  readonly by?: string;
}

/** A row changed elsewhere: by whom, and how. */
export interface RemoteChange {
  readonly action: 'created' | 'updated';
  /** `meta.userId` of the change's event. */
  readonly userId: string;
}

/** A row's change made elsewhere, as an open edit dialog hears of it. */
export interface WatchedChange<T> {
  readonly action: 'updated' | 'deleted';
  /** The row as it is now; `null` once deleted. */
  readonly item: T | null;
  /** `meta.userId` of the change's event. */
  readonly userId: string;
}

/** What a state manager tells listeners of changes made elsewhere. */
export interface ItemEvents<T, Id> {
  created: (item: T, meta: EventMeta) => void;
  updated: (item: T, meta: EventMeta) => void;
  deleted: (id: Id, meta: EventMeta) => void;
}

/**
 * What a state manager tells of changes made elsewhere: listeners by kind
 * (`on`), watchers of one row (`watch`, an open edit dialog), and the rows
 * marked for a while with who changed them (`recent`).
 */
export class ItemNotices<T, Id extends number | string> {
  readonly #listeners: { [K in keyof ItemEvents<T, Id>]: Set<ItemEvents<T, Id>[K]> } = {
    created: new Set(),
    updated: new Set(),
    deleted: new Set(),
  };
  readonly #watchers = new Map<string, Set<(change: WatchedChange<T>) => void>>();
  readonly #recent = new Map<Id, RemoteChange>();
  readonly #revision = signal(0);
  readonly #timers = new Map<Id, ReturnType<typeof setTimeout>>();

  /** The rows changed elsewhere in the last `highlightMs`, and by whom. */
  readonly recent: Signal<Pick<ReadonlyMap<Id, RemoteChange>, 'get' | 'has'>> = computed(() => {
    this.#revision();
    return { get: (id: Id) => this.#recent.get(id), has: (id: Id) => this.#recent.has(id) };
  });

  constructor(private readonly highlightMs: number) {}

  on<K extends keyof ItemEvents<T, Id>>(kind: K, listener: ItemEvents<T, Id>[K]): () => void {
    this.#listeners[kind].add(listener);
    return () => this.#listeners[kind].delete(listener);
  }

  created(item: T, meta: EventMeta): void {
    this.#listeners.created.forEach((listener) => listener(item, meta));
  }

  updated(item: T, meta: EventMeta): void {
    this.#listeners.updated.forEach((listener) => listener(item, meta));
  }

  deleted(id: Id, meta: EventMeta): void {
    this.#listeners.deleted.forEach((listener) => listener(id, meta));
  }

  watch(id: Id, listener: (change: WatchedChange<T>) => void): () => void {
    const key = String(id);
    const listeners = this.#watchers.get(key) ?? new Set();
    listeners.add(listener);
    this.#watchers.set(key, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        this.#watchers.delete(key);
      }
    };
  }

  tellWatchers(id: number | string, change: WatchedChange<T>): void {
    this.#watchers.get(String(id))?.forEach((listener) => listener(change));
  }

  /** Marks a row as changed by someone, for a while. */
  highlight(id: Id, change: RemoteChange): void {
    clearTimeout(this.#timers.get(id));
    this.#recent.set(id, change);
    this.#revision.update((n) => n + 1);
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        this.#recent.delete(id);
        this.#revision.update((n) => n + 1);
      }, this.highlightMs),
    );
  }

  dispose(): void {
    this.#timers.forEach((timer) => clearTimeout(timer));
    this.#timers.clear();
  }
}
