import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { EventMessage, ResyncReason } from '../models/aegis-protocol.types';
import { AEGIS_CONFIG } from './aegis-api';
import {
  DEFAULT_TIMINGS,
  EVENTS_AT_LATEST_MS,
  EVENTS_MEASURE,
  FeatureSubscriber,
  PAUSED,
  WebSocketService,
} from './websocket.service';

/** A WebSocket the test drives from the server's side. */
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  static instances: FakeWebSocket[] = [];

  readyState = FakeWebSocket.CONNECTING;
  readonly sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: MessageEvent<unknown>) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }

  close(): void {
    this.serverClose();
  }

  open(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }

  receive(frame: object): void {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }));
  }

  serverClose(code = 1006): void {
    if (this.readyState !== FakeWebSocket.CLOSED) {
      this.readyState = FakeWebSocket.CLOSED;
      this.onclose?.({ code });
    }
  }
}

class Subscriber implements FeatureSubscriber {
  seq: number | null = null;
  readonly events: EventMessage[] = [];
  readonly resyncs: ResyncReason[] = [];
  subscribed: [number, boolean][] = [];
  /** Every call, in order. */
  readonly calls: string[] = [];

  lastSeq(): number | null {
    return this.seq;
  }
  onEvent(event: EventMessage): void {
    this.events.push(event);
    this.seq = event.meta.seq;
    this.calls.push(`event ${event.meta.seq}`);
  }
  onSubscribed(seq: number, recovered: boolean): void {
    this.subscribed.push([seq, recovered]);
    this.calls.push(`subscribed ${seq}`);
  }
  onResync(reason: ResyncReason): void {
    this.resyncs.push(reason);
    this.calls.push(`resync ${reason}`);
  }
  readonly errors: string[] = [];
  onError(message: string): void {
    this.errors.push(message);
  }
}

function jwt(expiresInSeconds: number): string {
  const payload = btoa(
    JSON.stringify({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + expiresInSeconds }),
  );
  return `header.${payload}.signature`;
}

function event(seq: number): EventMessage {
  return {
    feature: 'budgets',
    entity: 'budget',
    action: 'created',
    data: { id: seq },
    meta: {
      timestamp: '2026-01-01T00:00:00Z',
      featureVersion: 'v1',
      seq,
      userId: 'u2',
      origin: null,
    },
  };
}

describe('WebSocketService', () => {
  let service: WebSocketService;
  let tokens: string[];
  /** How many of the next token requests fail. */
  let failures: number;

  const latest = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1];

  /** Opens the latest socket and answers its auth with `ready`. */
  async function connect(): Promise<FakeWebSocket> {
    const socket = latest();
    socket.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.sent[0]).toEqual({ type: 'auth', token: tokens[tokens.length - 1] });
    socket.receive({ type: 'ready', userId: 'u1' });
    return socket;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
    tokens = [];
    failures = 0;
    TestBed.configureTestingModule({
      providers: [
        {
          provide: AEGIS_CONFIG,
          useValue: {
            apiBaseUrl: '/api',
            websocketUrl: 'ws://server/ws',
            token: () => {
              if (failures > 0) {
                failures -= 1;
                return Promise.reject(new Error('the identity provider is away'));
              }
              tokens.push(jwt(3600));
              return Promise.resolve(tokens[tokens.length - 1]);
            },
          },
        },
      ],
    });
    service = TestBed.inject(WebSocketService);
  });

  afterEach(() => {
    service.ngOnDestroy();
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('reconnects at the first backoff step when a stopping instance closes with 1012', async () => {
    service.subscribe('budgets', new Subscriber());
    // Three connections that fail before they are ready grow the backoff.
    for (let i = 0; i < 3; i++) {
      latest().serverClose();
      await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffMax);
    }
    const grown = FakeWebSocket.instances.length;
    latest().serverClose();
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffBase);
    expect(FakeWebSocket.instances.length, 'an ordinary failure waits longer').toBe(grown);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffMax);
    const before = FakeWebSocket.instances.length;
    latest().serverClose(1012);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffBase);
    expect(FakeWebSocket.instances.length, 'a restart reconnects within one step').toBe(before + 1);
  });

  it('authenticates, then subscribes, then delivers events', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    expect(service.status()).toBe('connecting');
    expect(latest().url).toBe('ws://server/ws');
    const socket = await connect();
    expect(service.status()).toBe('connected');
    expect(socket.sent[1]).toEqual({ type: 'subscribe', features: ['budgets'], since: {} });
    socket.receive({ type: 'subscribed', feature: 'budgets', seq: 4, recovered: false });
    socket.receive({ type: 'event', ...event(5) });
    socket.receive({ type: 'resync', feature: 'budgets', reason: 'lagging' });
    expect(budgets.calls).toEqual(['subscribed 4', 'event 5', 'resync lagging']);
  });

  it('applies the events of a frame together, in order, before the next frame', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    const measure = vi.spyOn(performance, 'measure');
    for (let seq = 1; seq <= 3; seq++) {
      socket.receive({ type: 'event', ...event(seq) });
    }
    expect(budgets.events, 'no event is applied as it arrives').toEqual([]);
    await vi.advanceTimersByTimeAsync(1000 / 60);
    expect(budgets.calls).toEqual(['event 1', 'event 2', 'event 3']);
    socket.receive({ type: 'event', ...event(4) });
    await vi.advanceTimersByTimeAsync(1000 / 60);
    expect(budgets.calls).toHaveLength(4);
    const measures = measure.mock.calls.filter(([name]) => name === EVENTS_MEASURE);
    expect(
      measures.map(([, options]) => (options as PerformanceMeasureOptions).detail),
      'one measure per frame, with its count',
    ).toEqual([{ events: 3 }, { events: 1 }]);
    expect(performance.getEntriesByName(EVENTS_MEASURE), 'the measures are not kept').toEqual([]);
  });

  it('parses an event with its frame, not as it arrives, and keeps the order of other frames', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    const parse = vi.spyOn(JSON, 'parse');
    socket.receive({ type: 'event', ...event(1) });
    socket.receive({ type: 'event', ...event(2) });
    expect(parse, 'an arriving event is only queued').not.toHaveBeenCalled();
    // A frame written with its tag elsewhere is parsed as it comes, and waits all the same.
    socket.onmessage?.(
      new MessageEvent('message', { data: JSON.stringify({ ...event(3), type: 'event' }) }),
    );
    expect(budgets.events).toEqual([]);
    socket.onmessage?.(new MessageEvent('message', { data: '{"type":"event", broken' }));
    socket.receive({ type: 'resync', feature: 'budgets', reason: 'lagging' });
    expect(budgets.calls, 'a frame that is not an event applies the waiting ones first').toEqual([
      'event 1',
      'event 2',
      'event 3',
      'resync lagging',
    ]);
    parse.mockRestore();
  });

  it('asks for the next frame from the frame while events come, and stops when they stop', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    const idle = vi.getTimerCount();
    // Frames run by hand; every call into the browser counted.
    const frames: FrameRequestCallback[] = [];
    const calls = { frames: 0, timeouts: 0 };
    vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => {
      calls.frames += 1;
      return frames.push(callback);
    });
    const timeout = globalThis.setTimeout;
    vi.stubGlobal('setTimeout', (handler: () => void, ms?: number) => {
      calls.timeouts += 1;
      return timeout(handler, ms);
    });
    const frame = () => frames.splice(0).forEach((callback) => callback(performance.now()));
    socket.receive({ type: 'event', ...event(1) });
    expect(calls, 'the first event asks for a frame, and a timer in case none comes').toEqual({
      frames: 1,
      timeouts: 1,
    });
    for (let seq = 2; seq <= 5; seq++) {
      frame();
      socket.receive({ type: 'event', ...event(seq) });
    }
    expect(budgets.calls).toEqual(['event 1', 'event 2', 'event 3', 'event 4']);
    expect(calls, 'each frame that applied events asked for the next; no event asked').toEqual({
      frames: 5,
      timeouts: 1,
    });
    frame();
    expect(budgets.events).toHaveLength(5);
    frame();
    expect(calls.frames, 'a frame without events asks for none').toBe(6);
    expect(frames).toEqual([]);
    await vi.advanceTimersByTimeAsync(EVENTS_AT_LATEST_MS);
    expect(vi.getTimerCount(), 'no timer left for events').toBe(idle);
  });

  it('applies the waiting events when frames stop while events come', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    socket.receive({ type: 'event', ...event(1) });
    await vi.advanceTimersByTimeAsync(1000 / 60);
    expect(budgets.calls).toEqual(['event 1']);
    // From here no frame runs but the one already asked for (the tab is hidden).
    vi.stubGlobal('requestAnimationFrame', () => 0);
    socket.receive({ type: 'event', ...event(2) });
    await vi.advanceTimersByTimeAsync(1000 / 60);
    socket.receive({ type: 'event', ...event(3) });
    await vi.advanceTimersByTimeAsync(EVENTS_AT_LATEST_MS * 2);
    expect(budgets.calls).toEqual(['event 1', 'event 2', 'event 3']);
  });

  it('applies events in a hidden tab, which runs no animation frame, within the time allowed', async () => {
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    socket.receive({ type: 'event', ...event(1) });
    await vi.advanceTimersByTimeAsync(EVENTS_AT_LATEST_MS - 1);
    expect(budgets.events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(budgets.calls).toEqual(['event 1']);
    visibility.mockRestore();
  });

  it('drops the waiting events when the last subscriber leaves', async () => {
    const budgets = new Subscriber();
    const stop = service.subscribe('budgets', budgets);
    const socket = await connect();
    socket.receive({ type: 'event', ...event(1) });
    stop();
    await vi.advanceTimersByTimeAsync(EVENTS_AT_LATEST_MS);
    expect(budgets.events).toEqual([]);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.idleClose);
    expect(vi.getTimerCount(), 'nothing left scheduled once the socket closed').toBe(0);
  });

  it('registers a subscriber once however often it subscribes', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    service.subscribe('budgets', budgets);
    const socket = await connect();
    service.subscribe('budgets', budgets);
    socket.receive({ type: 'event', ...event(1) });
    await vi.advanceTimersByTimeAsync(EVENTS_AT_LATEST_MS);
    expect(budgets.events).toHaveLength(1);
    expect(socket.sent.filter((f) => (f as { type: string }).type === 'subscribe')).toHaveLength(1);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('shares one socket between features', async () => {
    service.subscribe('budgets', new Subscriber());
    const socket = await connect();
    service.subscribe('authors', new Subscriber());
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.sent[2]).toEqual({ type: 'subscribe', features: ['authors'], since: {} });
  });

  it('reconnects with backoff and re-subscribes with since', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const first = await connect();
    first.receive({ type: 'event', ...event(41) });
    first.receive({ type: 'event', ...event(42) });
    first.serverClose();
    expect(service.status()).toBe('reconnecting');
    expect(FakeWebSocket.instances).toHaveLength(1);
    // The first retry waits between a quarter and a half second.
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeWebSocket.instances).toHaveLength(2);
    const second = await connect();
    expect(second.sent[1]).toEqual({
      type: 'subscribe',
      features: ['budgets'],
      since: { budgets: 42 },
    });
    expect(service.status()).toBe('connected');

    // Repeated failures wait longer each time, up to the bound.
    second.serverClose();
    await vi.advanceTimersByTimeAsync(500);
    latest().serverClose();
    const before = FakeWebSocket.instances.length;
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeWebSocket.instances.length).toBe(before);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeWebSocket.instances.length).toBe(before + 1);
  });

  it('asks again for a feature the server could not subscribe just now', async () => {
    const budgets = new Subscriber();
    service.subscribe('budgets', budgets);
    const socket = await connect();
    socket.receive({ type: 'event', ...event(7) });
    socket.receive({ type: 'error', code: 'internal', message: 'try again', feature: 'budgets' });
    // Not a forbidden feature: that one is not asked for again.
    socket.receive({ type: 'error', code: 'forbidden', message: 'no', feature: 'authors' });
    const subscribes = () =>
      socket.sent.filter((f) => (f as { type: string }).type === 'subscribe');
    expect(subscribes()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffBase);
    expect(subscribes()).toEqual([
      { type: 'subscribe', features: ['budgets'], since: {} },
      { type: 'subscribe', features: ['budgets'], since: { budgets: 7 } },
    ]);
    expect(budgets.errors, 'told it is asked for again').toEqual([PAUSED]);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('sends a ping every heartbeat and gives up on a silent server', async () => {
    service.subscribe('budgets', new Subscriber());
    const socket = await connect();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(socket.sent[socket.sent.length - 1]).toEqual({ type: 'ping' });
    socket.receive({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(36_000);
    expect(socket.readyState).toBe(FakeWebSocket.CLOSED);
    expect(service.status()).toBe('reconnecting');
  });

  it('refreshes the token in band before it expires', async () => {
    // No heartbeat in this test: the fake server would not answer it.
    service.timings = { ...DEFAULT_TIMINGS, heartbeat: 10 * 3_600_000 };
    service.subscribe('budgets', new Subscriber());
    const socket = await connect();
    // A one-hour token is refreshed a minute before it expires.
    await vi.advanceTimersByTimeAsync(3_540_000);
    const auths = socket.sent.filter((f) => (f as { type: string }).type === 'auth');
    expect(auths).toHaveLength(2);
    expect(auths[1]).toEqual({ type: 'auth', token: tokens[1] });
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('asks again for a token it could not refresh, backing off, and keeps the connection', async () => {
    // On a whole second, so the token's expiry (in seconds) falls an hour away exactly.
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    service.timings = { ...DEFAULT_TIMINGS, heartbeat: 10 * 3_600_000 };
    service.subscribe('budgets', new Subscriber());
    const socket = await connect();
    const auths = () => socket.sent.filter((f) => (f as { type: string }).type === 'auth');
    failures = 2;
    await vi.advanceTimersByTimeAsync(3_540_000);
    expect(auths(), 'the refresh failed').toHaveLength(1);
    // Asked again after 0.5 s (failing again), then after 1 s more.
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.backoffBase);
    expect(failures).toBe(0);
    await vi.advanceTimersByTimeAsync(2 * DEFAULT_TIMINGS.backoffBase - 1);
    expect(auths(), 'backing off').toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(auths()).toHaveLength(2);
    expect(auths()[1]).toEqual({ type: 'auth', token: tokens[1] });
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('closes a while after the last subscriber leaves, and ignores frames it cannot parse', async () => {
    const budgets = new Subscriber();
    const stop = service.subscribe('budgets', budgets);
    const socket = await connect();
    socket.onmessage?.(new MessageEvent('message', { data: '{not json' }));
    socket.receive({ type: 'nonsense' });
    expect(budgets.events).toEqual([]);
    stop();
    expect(socket.sent[socket.sent.length - 1]).toEqual({
      type: 'unsubscribe',
      features: ['budgets'],
    });
    // Another list subscribing meanwhile (a move from one list to the next) keeps the socket.
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.idleClose - 1);
    const stopAuthors = service.subscribe('authors', new Subscriber());
    expect(socket.sent[socket.sent.length - 1]).toEqual({
      type: 'subscribe',
      features: ['authors'],
      since: {},
    });
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.idleClose);
    expect(socket.readyState).toBe(FakeWebSocket.OPEN);
    expect(FakeWebSocket.instances).toHaveLength(1);
    stopAuthors();
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMINGS.idleClose - 1);
    expect(socket.readyState).toBe(FakeWebSocket.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.readyState).toBe(FakeWebSocket.CLOSED);
    expect(service.status()).toBe('idle');
  });

  it('logs no frame unless the config asks for it', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    service.subscribe('budgets', new Subscriber());
    const socket = await connect();
    socket.receive(event(1));
    expect(debug).not.toHaveBeenCalled();
  });
});

describe('WebSocketService with debug on', () => {
  it('logs every frame both ways, the token left out', async () => {
    vi.useFakeTimers();
    FakeWebSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    TestBed.configureTestingModule({
      providers: [
        {
          provide: AEGIS_CONFIG,
          useValue: {
            apiBaseUrl: '/api',
            websocketUrl: 'ws://server/ws',
            token: () => Promise.resolve(jwt(3600)),
            debug: true,
          },
        },
      ],
    });
    const service = TestBed.inject(WebSocketService);
    service.subscribe('budgets', new Subscriber());
    const socket = FakeWebSocket.instances[0];
    socket.open();
    await vi.advanceTimersByTimeAsync(0);
    socket.receive({ type: 'ready', userId: 'u1' });
    const logged = JSON.stringify(debug.mock.calls);
    expect(logged).toContain('"type":"auth","token":"…"');
    expect(logged).not.toContain(jwt(3600).split('.')[1]);
    expect(logged).toContain('ready');
    expect(logged).toContain('subscribe');
    service.ngOnDestroy();
    vi.unstubAllGlobals();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
});
