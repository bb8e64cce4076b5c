import { EnvironmentInjector, createEnvironmentInjector } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { PAUSED, WebSocketService } from './websocket.service';
import {
  FakeWebSocketService,
  ITEM_SWITCHES,
  Item,
  ItemStateManager,
  conflictError,
  itemEvent,
  page,
} from './testing';

const A: Item = { id: 1, name: 'a', version: 1 };
const B: Item = { id: 2, name: 'b', version: 1 };
const C: Item = { id: 3, name: 'c', version: 1 };
const QUERY = { page: 1, pageSize: 20 };

describe('BaseRealtimeStateManager', () => {
  let socket: FakeWebSocketService;
  let state: ItemStateManager;

  beforeEach(async () => {
    TestBed.configureTestingModule({
      providers: [
        FakeWebSocketService,
        { provide: WebSocketService, useExisting: FakeWebSocketService },
        ItemStateManager,
      ],
    });
    socket = TestBed.inject(FakeWebSocketService);
    state = TestBed.inject(ItemStateManager);
    state.pageAnswers.push(page([A, B, C], 10));
    await state.load(QUERY);
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('loads a page in order and follows the feature', () => {
    expect(state.items()).toEqual([A, B, C]);
    expect(state.total()).toBe(3);
    expect(state.lastSeq()).toBe(10);
    expect(socket.subscribers.get('items')).toBe(state);
  });

  describe('optimistic updates', () => {
    it('shows the change at once and keeps the saved entity', async () => {
      const saving = state.update(2, { name: 'b2' });
      expect(state.items().map((i) => i.name)).toEqual(['a', 'b2', 'c']);
      state.pending[0].resolve({ id: 2, name: 'b2', version: 2 });
      expect(await saving).toEqual({ id: 2, name: 'b2', version: 2 });
      expect(state.items()[1]).toEqual({ id: 2, name: 'b2', version: 2 });
      expect(state.calls.updates[0].input).toEqual({ name: 'b2', version: 1 });
    });

    it('restores the exact prior state when the server refuses', async () => {
      const before = state.items();
      const saving = state.update(2, { name: 'b2' });
      state.pending[0].reject(new Error('offline'));
      await expect(saving).rejects.toThrow('offline');
      expect(state.items()).toEqual(before);
      // The same object, in the same place.
      expect(state.items()[1]).toBe(B);
      expect(state.conflicts()).toEqual([]);
    });

    it('hides a deleted item at once and brings it back where it was on failure', async () => {
      const removing = state.remove(2);
      expect(state.items()).toEqual([A, C]);
      state.pendingDeletes[0].reject(new Error('offline'));
      await expect(removing).rejects.toThrow('offline');
      expect(state.items()).toEqual([A, B, C]);
      expect(state.items()[1]).toBe(B);
      expect(state.total()).toBe(3);
    });
  });

  describe('conflicts', () => {
    it('are detected when a remote update meets a pending local change', async () => {
      const saving = state.update(2, { name: 'mine' });
      state.onEvent(itemEvent('updated', { id: 2, name: 'theirs', version: 2 }, 11));
      expect(state.conflicts()).toEqual([
        {
          id: 2,
          mine: { id: 2, name: 'mine', version: 1 },
          theirs: { id: 2, name: 'theirs', version: 2 },
          by: 'u2',
        },
      ]);
      // The local change stays visible until the conflict is settled.
      expect(state.items()[1].name).toBe('mine');
      state.pending[0].reject(conflictError({ id: 2, name: 'theirs', version: 2 }));
      await expect(saving).rejects.toBeTruthy();
    });

    it('are detected on a 409, and taking theirs applies the server entity', async () => {
      const saving = state.update(2, { name: 'mine' });
      state.pending[0].reject(conflictError({ id: 2, name: 'theirs', version: 5 }));
      await expect(saving).rejects.toBeTruthy();
      expect(state.conflicts()).toHaveLength(1);
      expect(state.items()[1]).toBe(B);
      await state.resolveConflict(2, 'theirs');
      expect(state.conflicts()).toEqual([]);
      expect(state.items()[1]).toEqual({ id: 2, name: 'theirs', version: 5 });
      expect(state.calls.updates).toHaveLength(1);
    });

    it('keeping mine re-sends it based on their version', async () => {
      const saving = state.update(2, { name: 'mine' });
      state.pending[0].reject(conflictError({ id: 2, name: 'theirs', version: 5 }));
      await expect(saving).rejects.toBeTruthy();
      const resolving = state.resolveConflict(2, 'mine');
      expect(state.calls.updates[1].input).toEqual({ name: 'mine', version: 5 });
      state.pending[1].resolve({ id: 2, name: 'mine', version: 6 });
      await resolving;
      expect(state.conflicts()).toEqual([]);
      expect(state.items()[1]).toEqual({ id: 2, name: 'mine', version: 6 });
    });
  });

  describe('events', () => {
    it("applies others' changes and skips what the page already holds", () => {
      state.onEvent(itemEvent('updated', { id: 1, name: 'a2', version: 2 }, 9));
      expect(state.items()[0]).toBe(A);
      state.onEvent(itemEvent('updated', { id: 1, name: 'a2', version: 2 }, 11));
      state.onEvent(itemEvent('created', { id: 4, name: 'd', version: 1 }, 12));
      state.onEvent(itemEvent('deleted', { id: 3 }, 13));
      expect(state.items().map((i) => i.name)).toEqual(['a2', 'b', 'd']);
      expect(state.total()).toBe(3);
      expect(state.lastSeq()).toBe(13);
    });

    it('suppresses the echo of its own change, by origin', async () => {
      const created = await state.create({ name: 'mine' });
      const mutationId = state.calls.creates[0].mutationId;
      state.onEvent(
        itemEvent('created', { id: created.id, name: 'mine', version: 1 }, 11, mutationId),
      );
      expect(state.items().filter((i) => i.name === 'mine')).toHaveLength(1);
      expect(state.total()).toBe(4);
    });

    it('suppresses stale versions', () => {
      state.onEvent(itemEvent('updated', { id: 1, name: 'newer', version: 3 }, 11));
      state.onEvent(itemEvent('updated', { id: 1, name: 'older', version: 2 }, 12));
      expect(state.items()[0].name).toBe('newer');
    });

    it('reloads on resync', async () => {
      state.pageAnswers.push(page([C], 20));
      state.onResync('lagging');
      await vi.waitFor(() => expect(state.items()).toEqual([C]));
      expect(state.calls.pages).toEqual([QUERY, QUERY]);
      expect(state.lastSeq()).toBe(20);
    });

    it('reloads when a subscription could not recover what it missed', async () => {
      state.onSubscribed(30, false);
      await vi.waitFor(() => expect(state.calls.pages).toHaveLength(2));
    });

    it('shows why a subscription was refused until the feature is subscribed', () => {
      state.onError(PAUSED);
      expect(state.error()).toBe(PAUSED);
      state.onSubscribed(10, true);
      expect(state.error()).toBeNull();
    });

    it("shows a failed read's error first, and a refused subscription's once a read succeeds", async () => {
      state.onError('refused');
      state.pageAnswers.push(new Error('offline'));
      await state.reload();
      expect(state.error()).toBe('offline');
      state.pageAnswers.push(page([A], 12));
      await state.reload();
      expect(state.error()).toBe('refused');
    });

    it('takes a subscription live from what the page holds as complete, without a read', async () => {
      state.onSubscribed(10, false);
      state.onSubscribed(7, false);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(state.calls.pages).toHaveLength(1);
      state.onEvent(itemEvent('created', { id: 4, name: 'd', version: 1 }, 11));
      expect(state.items().map((i) => i.name)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('applies an in-place update or a delete to a 100,000-item page without scanning it', async () => {
      const many: Item[] = Array.from({ length: 100_000 }, (_, i) => ({
        id: i + 1,
        name: `n${i}`,
        version: 1,
      }));
      state.pageAnswers.push(page(many, 50));
      await state.load({ page: 1, pageSize: 100_000 });
      expect(state.items()).toHaveLength(100_000);
      const scans = [
        vi.spyOn(Map.prototype, 'values'),
        vi.spyOn(Map.prototype, 'keys'),
        vi.spyOn(Map.prototype, 'entries'),
        vi.spyOn(Map.prototype, 'forEach'),
        vi.spyOn(Map.prototype, Symbol.iterator),
        vi.spyOn(Array.prototype, 'map'),
        vi.spyOn(Array.prototype, 'filter'),
        vi.spyOn(Array.prototype, 'find'),
        vi.spyOn(Array.prototype, 'indexOf'),
      ];
      state.onEvent(itemEvent('updated', { id: 73_210, name: 'changed', version: 2 }, 51));
      state.onEvent(itemEvent('deleted', { id: 5 }, 52));
      const calls: number[] = [];
      for (const scan of scans) {
        calls.push(scan.mock.calls.length);
      }
      vi.restoreAllMocks();
      expect(calls).toEqual(scans.map(() => 0));
      expect(state.items()[73_208].name).toBe('changed');
      expect(state.items()).toHaveLength(99_999);
      expect(state.total()).toBe(99_999);
    });
  });

  describe('cache', () => {
    it('answers the same query inside the TTL without a request', async () => {
      await state.load(QUERY);
      await state.load({ ...QUERY });
      expect(state.calls.pages).toHaveLength(1);
      await state.load({ page: 2, pageSize: 20 });
      expect(state.calls.pages).toHaveLength(2);
    });

    it('expires after the TTL', async () => {
      const now = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(now + 61_000);
      await state.load(QUERY);
      expect(state.calls.pages).toHaveLength(2);
    });

    it('is bypassed while the connection is not healthy, and after a resync', async () => {
      socket.status.set('reconnecting');
      await state.load(QUERY);
      expect(state.calls.pages).toHaveLength(2);
      socket.status.set('connected');
      await state.load(QUERY);
      expect(state.calls.pages).toHaveLength(2);
      state.onResync('gap');
      await vi.waitFor(() => expect(state.calls.pages).toHaveLength(3));
    });
  });

  describe('the view', () => {
    it('follows a filtered, sorted page as a fresh load would, and reads it again when it cannot tell', async () => {
      vi.useFakeTimers();
      const query = {
        page: 1,
        pageSize: 2,
        sort: '-name',
        filters: [{ field: 'name', op: 'contains' as const, value: 'x' }],
      };
      state.pageAnswers.push({
        data: [
          { id: 7, name: 'xz', version: 1 },
          { id: 8, name: 'xb', version: 1 },
        ],
        total: 3,
        page: 1,
        pageSize: 2,
        seq: 20,
      });
      await state.load(query);
      // Outside the filter: nothing. Inside, between the two: in order, the last pushed on.
      state.onEvent(itemEvent('created', { id: 9, name: 'nothing', version: 1 }, 21));
      state.onEvent(itemEvent('created', { id: 10, name: 'xm', version: 1 }, 22));
      expect(state.items().map((i) => i.id)).toEqual([7, 10]);
      expect(state.total()).toBe(4);
      // A loaded row that stops matching leaves; a row from the next page would move up: read again.
      state.onEvent(itemEvent('updated', { id: 7, name: 'gone', version: 2 }, 23));
      expect(state.items().map((i) => i.id)).toEqual([10]);
      expect(state.total()).toBe(3);
      expect(state.calls.pages).toHaveLength(2);
      state.pageAnswers.push({
        data: [
          { id: 10, name: 'xm', version: 1 },
          { id: 8, name: 'xb', version: 1 },
        ],
        total: 3,
        page: 1,
        pageSize: 2,
        seq: 23,
      });
      await vi.advanceTimersByTimeAsync(300);
      expect(state.calls.pages).toHaveLength(3);
      expect(state.items().map((i) => i.id)).toEqual([10, 8]);
    });

    it('reads a stale page again within a second, even while its events never pause', async () => {
      vi.useFakeTimers();
      const query = { page: 1, pageSize: 2, sort: '-name' };
      state.pageAnswers.push({ data: [A, B], total: 9, page: 1, pageSize: 2, seq: 20 });
      await state.load(query);
      // Rows not loaded change every 100 ms: each may have moved onto the page.
      for (let seq = 21; seq <= 45; seq++) {
        state.onEvent(itemEvent('updated', { id: 50, name: `z${seq}`, version: seq }, seq));
        await vi.advanceTimersByTimeAsync(100);
      }
      // 2.5 s of events: read again at 1 s and 2 s (from the first event after each read).
      expect(state.calls.pages).toHaveLength(4);
      // Once they pause, 250 ms after the last.
      await vi.advanceTimersByTimeAsync(300);
      expect(state.calls.pages).toHaveLength(5);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(state.calls.pages).toHaveLength(5);
    });

    it('leaves the page as it was for a row off it: the same rows, nothing to render again', async () => {
      // Page 1 of 2, in id order: rows off it change, arrive and go.
      state.pageAnswers.push({ data: [A, B], total: 4, page: 1, pageSize: 2, seq: 30 });
      await state.load({ page: 1, pageSize: 2 });
      const shown = state.items();
      state.onEvent(itemEvent('updated', { id: 40, name: 'elsewhere', version: 2 }, 31));
      expect(state.items()).toBe(shown);
      expect(state.total()).toBe(4);
      state.onEvent(itemEvent('created', { id: 41, name: 'later', version: 1 }, 32));
      expect(state.items()).toBe(shown);
      expect(state.total()).toBe(5);
      state.onEvent(itemEvent('deleted', { id: 40 }, 33));
      expect(state.items()).toBe(shown);
      expect(state.total()).toBe(4);
      // A row of the page still changes it.
      state.onEvent(itemEvent('updated', { id: 2, name: 'b2', version: 2 }, 34));
      expect(state.items()).not.toBe(shown);
      expect(state.items().map((i) => i.name)).toEqual(['a', 'b2']);
      expect(state.calls.pages).toHaveLength(2);
    });

    it('places its own new row by the view too', async () => {
      await state.load({ page: 1, pageSize: 20, q: 'zzz' });
      await state.create({ name: 'not found' });
      expect(state.items().map((i) => i.name)).not.toContain('not found');
    });

    it('marks a row changed elsewhere with who changed it, and tells listeners', () => {
      vi.useFakeTimers();
      const updated: string[] = [];
      const deleted: number[] = [];
      const stop = state.on('updated', (item, meta) =>
        updated.push(`${item.name} by ${meta.userId}`),
      );
      state.on('deleted', (id) => deleted.push(id));
      state.onEvent(itemEvent('updated', { id: 2, name: 'b2', version: 2 }, 11));
      expect(state.recentChanges().get(2)).toEqual({ action: 'updated', userId: 'u2' });
      state.onEvent(itemEvent('deleted', { id: 3 }, 12));
      stop();
      state.onEvent(itemEvent('updated', { id: 1, name: 'a2', version: 2 }, 13));
      expect(updated).toEqual(['b2 by u2']);
      expect(deleted).toEqual([3]);
      vi.advanceTimersByTime(5_000);
      expect(state.recentChanges().has(2)).toBe(false);
    });
  });
});

describe('BaseRealtimeStateManager with its switches off', () => {
  let state: ItemStateManager;

  beforeEach(async () => {
    TestBed.configureTestingModule({
      providers: [
        FakeWebSocketService,
        { provide: WebSocketService, useExisting: FakeWebSocketService },
        {
          provide: ITEM_SWITCHES,
          useValue: { optimisticUpdates: false, conflictDetection: false },
        },
        ItemStateManager,
      ],
    });
    state = TestBed.inject(ItemStateManager);
    state.pageAnswers.push(page([A, B, C], 10));
    await state.load(QUERY);
  });

  it('shows a change once the server has it, not before', async () => {
    const saving = state.update(2, { name: 'b2' });
    expect(state.items()[1]).toBe(B);
    state.pending[0].resolve({ id: 2, name: 'b2', version: 2 });
    await saving;
    expect(state.items()[1].name).toBe('b2');
    const removing = state.remove(3);
    expect(state.items()).toHaveLength(3);
    state.pendingDeletes[0].resolve();
    await removing;
    expect(state.items().map((i) => i.id)).toEqual([1, 2]);
  });

  it('lets the last save win: a 409 is sent again on their version, and no conflict is raised', async () => {
    const saving = state.update(2, { name: 'mine' });
    state.onEvent(itemEvent('updated', { id: 2, name: 'theirs', version: 2 }, 11));
    state.pending[0].reject(conflictError({ id: 2, name: 'theirs', version: 2 }));
    await vi.waitFor(() => expect(state.pending).toHaveLength(2));
    expect(state.calls.updates[1].input).toEqual({ name: 'mine', version: 2 });
    state.pending[1].resolve({ id: 2, name: 'mine', version: 3 });
    expect(await saving).toEqual({ id: 2, name: 'mine', version: 3 });
    expect(state.conflicts()).toEqual([]);
    expect(state.items()[1].name).toBe('mine');
  });
});

describe('BaseRealtimeStateManager opening its first page', () => {
  let state: ItemStateManager;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [
        FakeWebSocketService,
        { provide: WebSocketService, useExisting: FakeWebSocketService },
        ItemStateManager,
      ],
    });
    state = TestBed.inject(ItemStateManager);
  });

  it('reads the page again when it was read before its subscription went live', async () => {
    state.pageAnswers.push(page([A], 12), page([A, B], 15));
    const loading = state.load(QUERY);
    // Subscribed with nothing to replay while the page is on its way: the
    // events from 13 to 15 are in neither.
    state.onSubscribed(15, false);
    await loading;
    await vi.waitFor(() => expect(state.calls.pages).toHaveLength(2));
    await vi.waitFor(() => expect(state.items()).toEqual([A, B]));
    expect(state.lastSeq()).toBe(15);
  });

  it('keeps a page read after its subscription went live', async () => {
    state.pageAnswers.push(page([A], 15));
    const loading = state.load(QUERY);
    state.onSubscribed(15, false);
    await loading;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(state.calls.pages).toHaveLength(1);
    expect(state.items()).toEqual([A]);
  });
});

describe('BaseRealtimeStateManager provided per list', () => {
  let parent: EnvironmentInjector;
  let socket: FakeWebSocketService;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [
        FakeWebSocketService,
        { provide: WebSocketService, useExisting: FakeWebSocketService },
      ],
    });
    parent = TestBed.inject(EnvironmentInjector);
    socket = TestBed.inject(FakeWebSocketService);
  });

  afterEach(() => vi.useRealTimers());

  /** A list's injector, as a list component providing its state manager has. */
  function openList(): {
    readonly injector: EnvironmentInjector;
    readonly state: ItemStateManager;
  } {
    const injector = createEnvironmentInjector([ItemStateManager], parent);
    return { injector, state: injector.get(ItemStateManager) };
  }

  it('keeps two views of a feature apart', async () => {
    const all = openList();
    const searched = openList();
    all.state.pageAnswers.push(page([A, B, C], 10));
    searched.state.pageAnswers.push(page([C], 10));
    await all.state.load(QUERY);
    await searched.state.load({ ...QUERY, q: 'c' });
    expect(all.state.items()).toEqual([A, B, C]);
    expect(searched.state.items()).toEqual([C]);
  });

  it('stops with its list, and leaves its page to the next list of the same view', async () => {
    const first = openList();
    first.state.pageAnswers.push(page([A, B], 10));
    await first.state.load(QUERY);
    first.state.onEvent(itemEvent('updated', { id: 1, name: 'a2', version: 2 }, 11));
    first.injector.destroy();
    expect(socket.subscribers.has('items')).toBe(false);
    const second = openList();
    await second.state.load(QUERY);
    expect(second.state.calls.pages).toEqual([]);
    expect(second.state.items()).toEqual([{ id: 1, name: 'a2', version: 2 }, B]);
    // It subscribes from the kept page's seq: the server replays what came after.
    expect(second.state.lastSeq()).toBe(11);
    expect(socket.subscribers.get('items')).toBe(second.state);
  });

  it('reads a view the last list did not show, or one read longer ago than the TTL', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const first = openList();
    first.state.pageAnswers.push(page([A, B], 10));
    await first.state.load(QUERY);
    first.injector.destroy();
    const other = openList();
    other.state.pageAnswers.push(page([B], 10));
    await other.state.load({ ...QUERY, q: 'b' });
    expect(other.state.calls.pages).toHaveLength(1);
    other.injector.destroy();
    vi.setSystemTime(Date.now() + 60_000);
    const late = openList();
    late.state.pageAnswers.push(page([B], 12));
    await late.state.load({ ...QUERY, q: 'b' });
    expect(late.state.calls.pages).toHaveLength(1);
  });

  it('reads the page when another subscriber already holds the feature (no replay would come)', async () => {
    const first = openList();
    first.state.pageAnswers.push(page([A, B], 10));
    await first.state.load(QUERY);
    first.injector.destroy();
    // The labels of a reference, say, subscribed meanwhile: a new
    // subscription of the feature sends no `subscribe`, so replays nothing.
    socket.subscribe('items', {
      lastSeq: () => 10,
      onEvent: () => undefined,
      onSubscribed: () => undefined,
      onResync: () => undefined,
      onError: () => undefined,
    });
    const second = openList();
    second.state.pageAnswers.push(page([A, B, C], 12));
    await second.state.load(QUERY);
    expect(second.state.calls.pages).toHaveLength(1);
    expect(second.state.items()).toEqual([A, B, C]);
  });

  it('leaves no page while the echo of a change of its own has not come back', async () => {
    const first = openList();
    first.state.pageAnswers.push(page([A, B], 10));
    await first.state.load(QUERY);
    await first.state.create({ name: 'c' });
    first.injector.destroy();
    const second = openList();
    second.state.pageAnswers.push(page([A, B], 11));
    await second.state.load(QUERY);
    expect(second.state.calls.pages).toHaveLength(1);
  });

  it('leaves no page while a change of its own is unsettled', async () => {
    const first = openList();
    first.state.pageAnswers.push(page([A, B], 10));
    await first.state.load(QUERY);
    void first.state.update(1, { name: 'a2' }).catch(() => undefined);
    first.injector.destroy();
    const second = openList();
    second.state.pageAnswers.push(page([A, B], 10));
    await second.state.load(QUERY);
    expect(second.state.calls.pages).toHaveLength(1);
  });
});
