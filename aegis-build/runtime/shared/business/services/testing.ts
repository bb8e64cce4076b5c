// A state manager over an in-memory fake server, and the stand-ins the
// runtime's specs need.

import {
  EnvironmentProviders,
  Injectable,
  InjectionToken,
  Provider,
  inject,
  signal,
} from '@angular/core';
import { HttpErrorResponse, provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';

import { EventMessage, JsonObject, ListResponse } from '../models/aegis-protocol.types';
import { AEGIS_CONFIG } from './aegis-api';
import { ListQuery } from './list-query';
import { BaseRealtimeStateManager } from './base-realtime-state.manager';
import { FeatureApi } from './feature-state';
import { ViewFields } from './list-view';
import { ConnectionStatus, FeatureSubscriber, WebSocketService } from './websocket.service';

export interface Item {
  id: number;
  name: string;
  version: number;
}

export type ItemInput = Pick<Item, 'name'>;

/** The switches of the items' state manager, when a spec turns some off. */
export const ITEM_SWITCHES = new InjectionToken<{
  optimisticUpdates?: boolean;
  conflictDetection?: boolean;
}>('ITEM_SWITCHES');

/** The items' view fields, as aegis-build would declare them. */
export const ITEM_FIELDS = {
  id: {
    label: 'Id',
    kind: 'number',
    nullable: false,
    search: false,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte'],
  },
  name: {
    label: 'Name',
    kind: 'text',
    nullable: false,
    search: true,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains'],
  },
} as const satisfies ViewFields;
export type ItemUpdate = ItemInput & Pick<Item, 'version'>;

/** A request the test settles by hand. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** Stands in for the tab's WebSocketService. */
@Injectable()
export class FakeWebSocketService {
  readonly status = signal<ConnectionStatus>('connected');
  readonly subscribers = new Map<string, FeatureSubscriber>();

  subscribe(feature: string, subscriber: FeatureSubscriber): () => void {
    this.subscribers.set(feature, subscriber);
    return () => this.subscribers.delete(feature);
  }

  features(): string[] {
    return [...this.subscribers.keys()];
  }
}

/**
 * The real HTTP client on its testing backend, the API at `/api`, and the
 * stand-in socket: what a spec of a generated service needs.
 */
export function httpTestingProviders(): (Provider | EnvironmentProviders)[] {
  return [
    provideHttpClient(),
    provideHttpClientTesting(),
    {
      provide: AEGIS_CONFIG,
      useValue: { apiBaseUrl: '/api', websocketUrl: '/ws', token: () => Promise.resolve('t') },
    },
    FakeWebSocketService,
    { provide: WebSocketService, useExisting: FakeWebSocketService },
  ];
}

/** What the fake server was asked. */
export interface Calls {
  pages: ListQuery[];
  creates: { input: ItemInput; mutationId: string }[];
  updates: { id: number; input: ItemUpdate; mutationId: string }[];
  deletes: { id: number; mutationId: string }[];
}

/** The items' REST API on an in-memory fake server. */
export class FakeItemApi implements FeatureApi<Item, number, ItemInput, ItemUpdate> {
  readonly calls: Calls = { pages: [], creates: [], updates: [], deletes: [] };
  /** The next answers, in order (an error fails its read); when empty, requests succeed at once. */
  readonly pageAnswers: (ListResponse<Item> | Error)[] = [];
  readonly pending: Deferred<Item>[] = [];
  readonly pendingDeletes: Deferred<void>[] = [];

  list(query: ListQuery): Promise<ListResponse<Item>> {
    this.calls.pages.push(query);
    const answer = this.pageAnswers.shift() ?? {
      data: [],
      total: 0,
      page: 1,
      pageSize: 20,
      seq: 0,
    };
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }

  create(input: ItemInput, mutationId = ''): Promise<Item> {
    this.calls.creates.push({ input, mutationId });
    return Promise.resolve({ id: 100 + this.calls.creates.length, name: input.name, version: 1 });
  }

  update(id: number, input: ItemUpdate, mutationId = ''): Promise<Item> {
    this.calls.updates.push({ id, input, mutationId });
    const request = deferred<Item>();
    this.pending.push(request);
    return request.promise;
  }

  delete(id: number, mutationId = ''): Promise<void> {
    this.calls.deletes.push({ id, mutationId });
    const request = deferred<void>();
    this.pendingDeletes.push(request);
    return request.promise;
  }
}

/** The items' state manager, configured as aegis-build configures a generated one. */
@Injectable()
export class ItemStateManager extends BaseRealtimeStateManager<
  Item,
  number,
  ItemInput,
  ItemUpdate
> {
  readonly fake: FakeItemApi;
  readonly calls: Calls;
  readonly pageAnswers: (ListResponse<Item> | Error)[];
  readonly pending: Deferred<Item>[];
  readonly pendingDeletes: Deferred<void>[];

  constructor() {
    const api = new FakeItemApi();
    super({
      feature: 'items',
      entity: 'item',
      cacheTtlMs: 60_000,
      fields: ITEM_FIELDS,
      api,
      idOf: (item) => item.id,
      versionOf: (item) => item.version,
      toUpdate: (item, version) => ({ name: item.name, version: version ?? item.version }),
      isEntity: (value): value is Item =>
        typeof value === 'object' &&
        value !== null &&
        'id' in value &&
        typeof value.id === 'number',
      ...inject(ITEM_SWITCHES, { optional: true }),
    });
    this.fake = api;
    this.calls = api.calls;
    this.pageAnswers = api.pageAnswers;
    this.pending = api.pending;
    this.pendingDeletes = api.pendingDeletes;
  }
}

export function page(items: Item[], seq: number): ListResponse<Item> {
  return { data: items, total: items.length, page: 1, pageSize: 20, seq };
}

export function itemEvent(
  action: 'created' | 'updated' | 'deleted',
  data: JsonObject,
  seq: number,
  origin: string | null = null,
): EventMessage {
  return {
    feature: 'items',
    entity: 'item',
    action,
    data,
    meta: { timestamp: '2026-01-01T00:00:00Z', featureVersion: 'v1', seq, userId: 'u2', origin },
  };
}

export function conflictError(current: Item): HttpErrorResponse {
  return new HttpErrorResponse({
    status: 409,
    error: { code: 'conflict', message: 'stale', current },
  });
}

/**
 * Object URLs, which jsdom lacks: the blobs they were made of, and which
 * are still live, so a spec can tell a preview let go from one leaked.
 */
export interface FakeObjectUrls {
  /** Each URL made, with what it was made of. */
  readonly made: ReadonlyMap<string, Blob>;
  /** The URLs made and not yet revoked. */
  readonly live: ReadonlySet<string>;
  /** Puts back the browser's own (or none, as in jsdom). */
  restore(): void;
}

export function fakeObjectUrls(): FakeObjectUrls {
  const made = new Map<string, Blob>();
  const live = new Set<string>();
  const own = {
    create: Object.getOwnPropertyDescriptor(URL, 'createObjectURL'),
    revoke: Object.getOwnPropertyDescriptor(URL, 'revokeObjectURL'),
  };
  const install = (name: string, value: unknown): void => {
    Object.defineProperty(URL, name, { value, configurable: true, writable: true });
  };
  install('createObjectURL', (blob: Blob): string => {
    const url = `blob:fake/${made.size + 1}`;
    made.set(url, blob);
    live.add(url);
    return url;
  });
  install('revokeObjectURL', (url: string): void => {
    live.delete(url);
  });
  const putBack = (name: string, descriptor: PropertyDescriptor | undefined): void => {
    if (descriptor === undefined) {
      Reflect.deleteProperty(URL, name);
    } else {
      Object.defineProperty(URL, name, descriptor);
    }
  };
  return {
    made,
    live,
    restore: () => {
      putBack('createObjectURL', own.create);
      putBack('revokeObjectURL', own.revoke);
    },
  };
}
