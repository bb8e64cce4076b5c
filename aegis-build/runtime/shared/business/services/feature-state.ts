import { Signal } from '@angular/core';

import { ListResponse } from '../models/aegis-protocol.types';
import { EntityId, conflictCurrent } from './aegis-api';
import { ListQuery } from './list-query';
import { ImportSource, ImportTracker } from './import-tracker';

/** The REST calls a state manager makes: a generated feature service has them. */
export interface FeatureApi<T, Id extends EntityId, C, U> {
  list(query: ListQuery): Promise<ListResponse<T>>;
  create(input: C, mutationId?: string): Promise<T>;
  update(id: Id, input: U, mutationId?: string): Promise<T>;
  delete(id: Id, mutationId?: string): Promise<void>;
}

/**
 * What a feature's state manager is configured with, whichever kind: its
 * service and what the generator knows of its rows. A generated state
 * manager is this metadata and nothing else.
 */
export interface FeatureSpec<T, Id extends EntityId, C, U> {
  readonly api: FeatureApi<T, Id, C, U>;
  /** The feature's import calls, for a feature with CSV import. */
  readonly imports?: ImportSource;
  /**
   * A save based on an old version is a conflict to settle (default); off,
   * it is sent again on the current version: the last save wins.
   */
  readonly conflictDetection?: boolean;
  idOf(item: T): Id;
  /** The item's version, or `null` when the entity has none. */
  versionOf(item: T): number | null;
  /** The update that saves `item` as it is, based on `version`. */
  toUpdate(item: T, version: number | null): U;
  /** Whether a value (an event's data, a 409's body) is one of the feature's rows. */
  isEntity(value: unknown): value is T;
}

/**
 * The contract of a feature's state manager: what the generated components
 * use, the same for a live feature (`BaseRealtimeStateManager`) and one
 * without events (`BasePolledStateManager`). Each is provided by the list
 * component that shows it, so two views of a feature are independent, and
 * stops (timers, subscription) when that component is destroyed.
 */
export interface FeatureState<T, Id extends EntityId, C> {
  /** The loaded page, in the server's order. */
  readonly items: Signal<readonly T[]>;
  readonly loading: Signal<boolean>;
  /** What keeps the list from being current, until it is. */
  readonly error: Signal<string | null>;
  /** Every item matching the query, on all pages. */
  readonly total: Signal<number>;
  /** This tab's CSV import, for a feature with import; else `null`. */
  readonly importJob: ImportTracker | null;
  /** A row's id. */
  idOf(item: T): Id;
  load(query: ListQuery): Promise<void>;
  /** Loads the last query again, from the server. */
  reload(): Promise<void>;
  create(input: C): Promise<T>;
  /**
   * Saves changes. `basedOn` is the item as the user saw it when they
   * started editing: its version is sent, so a change made meanwhile
   * elsewhere is refused (409) rather than silently overwritten.
   */
  update(id: Id, changes: Partial<T>, basedOn?: T): Promise<T>;
  remove(id: Id): Promise<void>;
  /** Stops following the feature: timers, polling, subscription. */
  dispose(): void;
}

/**
 * A refused save under "the last save wins" (`conflictDetection: false`):
 * a 409 carrying the current row is answered by sending the same changes
 * again on its version; any other failure, or a 409 under conflict
 * detection, is thrown again.
 */
export function saveOverConflict<T, Id extends EntityId, C, U>(
  spec: FeatureSpec<T, Id, C, U>,
  id: Id,
  changes: Partial<T>,
  mutationId: string,
  error: unknown,
): Promise<T> {
  const theirs = conflictCurrent(error, (value) => spec.isEntity(value));
  if (theirs === null || spec.conflictDetection !== false) {
    return Promise.reject(error);
  }
  return spec.api.update(
    id,
    spec.toUpdate({ ...theirs, ...changes }, spec.versionOf(theirs)),
    mutationId,
  );
}

/** Whether a value is an object whose `field` holds an id of `type`: a row, to a state manager. */
export function hasId(value: unknown, field: string, type: 'number' | 'string'): boolean {
  if (typeof value !== 'object' || value === null || !(field in value)) {
    return false;
  }
  return typeof (value as Record<string, unknown>)[field] === type;
}
