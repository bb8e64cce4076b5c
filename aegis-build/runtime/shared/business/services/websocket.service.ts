import { Injectable, OnDestroy, inject, signal } from '@angular/core';

import {
  CLOSE_RESTARTING,
  CLOSE_UNAUTHORIZED,
  ClientMessage,
  EventMessage,
  ResyncReason,
  ServerMessage,
} from '../models/aegis-protocol.types';
import { AEGIS_CONFIG } from './aegis-api';

/** The socket's state, for people and for caches. */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting';

/** What a feature's state manager gives the socket to receive its events. */
export interface FeatureSubscriber {
  /** The last seq applied, or `null` when nothing is loaded yet. */
  lastSeq(): number | null;
  onEvent(event: EventMessage): void;
  /** The subscription is live; `recovered` says every missed event was replayed. */
  onSubscribed(seq: number, recovered: boolean): void;
  /** Events were lost to this client: reload. */
  onResync(reason: ResyncReason): void;
  onError(message: string): void;
}

/** Timings, in milliseconds. */
export interface WebSocketTimings {
  readonly heartbeat: number;
  readonly pongTimeout: number;
  readonly backoffBase: number;
  readonly backoffMax: number;
  /** How long before a token expires it is refreshed in band. */
  readonly refreshBeforeExpiry: number;
  /**
   * How long the socket stays open once no feature is subscribed: moving
   * from one list to another (the old one's state manager stops first)
   * keeps the connection.
   */
  readonly idleClose: number;
}

export const DEFAULT_TIMINGS: WebSocketTimings = {
  heartbeat: 25_000,
  pongTimeout: 10_000,
  backoffBase: 500,
  backoffMax: 30_000,
  refreshBeforeExpiry: 60_000,
  idleClose: 5_000,
};

// The close codes are declared in Rust (aegis-protocol) and generated;
// here for the runtime's importers.
export { CLOSE_RESTARTING, CLOSE_UNAUTHORIZED };

type Timer = 'reconnect' | 'heartbeat' | 'pong' | 'refresh' | 'retry' | 'events' | 'idle';

/**
 * The longest events wait to be applied when no animation frame comes
 * first (a hidden tab runs none; its timers are throttled to about once a
 * second anyway).
 */
export const EVENTS_AT_LATEST_MS = 100;

/**
 * How an event frame begins: the server writes a frame's `type` first. An
 * event frame waits for the next animation frame as it came and is parsed
 * there, with the others of that frame; any other frame is parsed as it
 * comes. A frame written otherwise is parsed as it comes, and an event
 * among them waits all the same.
 */
const EVENT_FRAME = '{"type":"event"';

/** What a feature's subscribers are told while its subscription is asked for again. */
export const PAUSED =
  "Live updates are paused: the server cannot read this list's changes just now. Trying again.";

/** The User Timing measure each application of received events records, with `detail: { events }`. */
export const EVENTS_MEASURE = 'aegis: events applied';

const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'ready',
  'subscribed',
  'event',
  'resync',
  'error',
  'pong',
]);

/** A server frame, or `null` when the text is not one. */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'type' in value &&
    typeof value.type === 'string' &&
    SERVER_MESSAGE_TYPES.has(value.type)
  ) {
    // The server speaks protocol v1; its frames are trusted past the tag.
    return value as ServerMessage;
  }
  return null;
}

/** An event frame's event, or `null` when the text is not one. */
function parseEvent(text: string): EventMessage | null {
  const message = parseServerMessage(text);
  return message?.type === 'event' ? message : null;
}

/** Seconds since the epoch at which a JWT expires, if it says. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) {
    return null;
  }
  try {
    const json: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof json === 'object' &&
      json !== null &&
      'exp' in json &&
      typeof json.exp === 'number'
      ? json.exp
      : null;
  } catch {
    return null;
  }
}

/**
 * The tab's one WebSocket, shared by every state manager: authenticates,
 * subscribes each feature once, reconnects with exponential backoff and
 * jitter, re-subscribes with `since` after every reconnect, keeps the
 * connection alive with pings and refreshes the token before it expires.
 *
 * Events are applied once a frame: a frame's events wait in arrival order
 * and reach the state managers together before the next frame renders,
 * so the page's signals move, and the page renders, once a frame however
 * many events came. Every other frame (`subscribed`, `resync`, …) applies
 * the waiting events first, so the order the server sent is kept. While
 * events keep coming, each frame asks for the next one, so an arriving
 * event only joins the queue: receiving one costs no parse and no call
 * into the browser.
 */
@Injectable({ providedIn: 'root' })
export class WebSocketService implements OnDestroy {
  readonly #config = inject(AEGIS_CONFIG);
  readonly #subscribers = new Map<string, Set<FeatureSubscriber>>();
  readonly #statusSignal = signal<ConnectionStatus>('idle');
  readonly #lastErrorSignal = signal<string | null>(null);
  #socket: WebSocket | null = null;
  #ready = false;
  #attempt = 0;
  #timers: Partial<Record<Timer, ReturnType<typeof setTimeout>>> = {};
  /** Features whose subscription the server failed, to ask for again. */
  readonly #retrying = new Set<string>();
  /** Events received since the last were applied, in order; as they came, or parsed. */
  #waiting: (string | EventMessage)[] = [];
  /** The animation frame asked for, which applies the waiting events. */
  #frame: number | null = null;
  /** Whether an animation frame ran since the `events` timer was set. */
  #framed = false;
  /** Refreshes in a row whose token could not be had. */
  #refreshFailures = 0;

  /** The connection's state. */
  readonly status = this.#statusSignal.asReadonly();
  /** The last error the server reported for no particular feature. */
  readonly lastError = this.#lastErrorSignal.asReadonly();
  /** Timings; replace before the first subscription to change them. */
  timings: WebSocketTimings = DEFAULT_TIMINGS;

  /**
   * Starts receiving a feature's events. A subscriber is registered once,
   * however often this is called. Returns the function that stops.
   */
  subscribe(feature: string, subscriber: FeatureSubscriber): () => void {
    let set = this.#subscribers.get(feature);
    const newFeature = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#subscribers.set(feature, set);
    }
    if (!set.has(subscriber)) {
      set.add(subscriber);
      this.#clearTimer('idle');
      if (this.#socket === null && this.#timers.reconnect === undefined) {
        this.#connect();
      } else if (this.#ready && newFeature) {
        this.#sendSubscribe([feature]);
      }
    }
    return () => this.#unsubscribe(feature, subscriber);
  }

  /** The features with at least one subscriber. */
  features(): string[] {
    return [...this.#subscribers.keys()];
  }

  ngOnDestroy(): void {
    this.#subscribers.clear();
    this.#close();
  }

  #unsubscribe(feature: string, subscriber: FeatureSubscriber): void {
    const set = this.#subscribers.get(feature);
    if (!set?.delete(subscriber) || set.size > 0) {
      return;
    }
    this.#subscribers.delete(feature);
    if (this.#ready) {
      this.#send({ type: 'unsubscribe', features: [feature] });
    }
    if (this.#subscribers.size === 0) {
      // No feature is left to apply them to.
      this.#cancelEvents();
      this.#waiting = [];
      this.#timers.idle ??= setTimeout(() => {
        delete this.#timers.idle;
        if (this.#subscribers.size === 0) {
          this.#close();
        }
      }, this.timings.idleClose);
    }
  }

  #websocketUrl(): string {
    const url = this.#config.websocketUrl;
    if (url.startsWith('/')) {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${scheme}//${location.host}${url}`;
    }
    return url;
  }

  #connect(): void {
    this.#clearTimer('reconnect');
    this.#statusSignal.set(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.#websocketUrl());
    this.#socket = socket;
    socket.onopen = () => void this.#authenticate(socket);
    socket.onmessage = (message: MessageEvent<unknown>) => {
      if (typeof message.data === 'string') {
        if (this.#config.debug === true) {
          console.debug('[aegis] ←', message.data);
        }
        this.#receive(message.data);
      }
    };
    socket.onclose = (event) => this.#closed(socket, event.code);
  }

  async #authenticate(socket: WebSocket): Promise<void> {
    try {
      const token = await this.#config.token();
      if (this.#socket === socket) {
        this.#send({ type: 'auth', token });
        this.#scheduleRefresh(token);
      }
    } catch {
      socket.close();
    }
  }

  /** Sets the in-band refresh of `token` for `refreshBeforeExpiry` before it expires. */
  #scheduleRefresh(token: string): void {
    this.#clearTimer('refresh');
    this.#refreshFailures = 0;
    const expiry = tokenExpiry(token);
    if (expiry === null) {
      return;
    }
    const delay = Math.max(expiry * 1000 - Date.now() - this.timings.refreshBeforeExpiry, 1_000);
    this.#timers.refresh = setTimeout(() => void this.#refresh(), delay);
  }

  /** Sends a fresh token in band, keeping the connection. */
  async #refresh(): Promise<void> {
    const socket = this.#socket;
    if (socket === null || !this.#ready) {
      return;
    }
    let token: string;
    try {
      token = await this.#config.token();
    } catch {
      // No token just now (the identity provider away): asked again,
      // backing off, while the current one lasts. When it ends, the
      // server closes with 4401 and the reconnect asks again.
      if (this.#socket === socket) {
        const delay = this.#backoff(this.#refreshFailures);
        this.#refreshFailures += 1;
        this.#timers.refresh = setTimeout(() => void this.#refresh(), delay);
      }
      return;
    }
    if (this.#socket === socket) {
      this.#send({ type: 'auth', token });
      this.#scheduleRefresh(token);
    }
  }

  #receive(text: string): void {
    // Any frame proves the connection alive.
    this.#clearTimer('pong');
    if (text.startsWith(EVENT_FRAME)) {
      this.#wait(text);
      return;
    }
    const message = parseServerMessage(text);
    if (message === null) {
      return;
    }
    switch (message.type) {
      case 'event':
        this.#wait(message);
        return;
      case 'pong':
        return;
    }
    this.#applyEvents();
    switch (message.type) {
      case 'ready':
        if (!this.#ready) {
          this.#ready = true;
          this.#attempt = 0;
          this.#statusSignal.set('connected');
          this.#sendSubscribe(this.features());
          this.#startHeartbeat();
        }
        break;
      case 'subscribed':
        this.#forEach(message.feature, (s) => s.onSubscribed(message.seq, message.recovered));
        break;
      case 'resync':
        this.#forEach(message.feature, (s) => s.onResync(message.reason));
        break;
      case 'error':
        if (message.feature) {
          // `internal`: the server could not read the feature's events
          // just now (its database was away). Asked again, so the people
          // reading the list are told that, not to subscribe again.
          const retried = message.code === 'internal';
          const text = retried ? PAUSED : message.message;
          this.#forEach(message.feature, (s) => s.onError(text));
          if (retried) {
            this.#retrySubscribe(message.feature);
          }
        } else {
          this.#lastErrorSignal.set(message.message);
        }
        break;
    }
  }

  /**
   * Holds an event until the next animation frame, or about
   * `EVENTS_AT_LATEST_MS` at the latest when no frame comes.
   */
  #wait(event: string | EventMessage): void {
    this.#waiting.push(event);
    if (this.#waiting.length > 1) {
      return;
    }
    if (
      this.#frame === null &&
      typeof requestAnimationFrame === 'function' &&
      document.visibilityState === 'visible'
    ) {
      this.#frame = requestAnimationFrame(this.#onFrame);
    }
    this.#timers.events ??= setTimeout(this.#onLate, EVENTS_AT_LATEST_MS);
  }

  readonly #onFrame = (): void => {
    const start = performance.now();
    this.#frame = null;
    this.#framed = true;
    if (this.#waiting.length > 0) {
      // Events are coming: the next frame is asked for now, not by the
      // next event as it arrives. Measured with the events it follows.
      this.#frame = requestAnimationFrame(this.#onFrame);
    }
    this.#applyEvents(start);
  };

  /** No frame came for a while (a hidden tab runs none): the waiting events are applied now. */
  readonly #onLate = (): void => {
    delete this.#timers.events;
    if (this.#framed && this.#frame !== null) {
      // Frames are running, and apply the events.
      this.#framed = false;
      this.#timers.events = setTimeout(this.#onLate, EVENTS_AT_LATEST_MS);
      return;
    }
    this.#applyEvents();
  };

  /** Hands the waiting events to their features' state managers, in order. */
  #applyEvents(start = performance.now()): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) {
      return;
    }
    this.#waiting = [];
    let applied = 0;
    for (const item of waiting) {
      const event = typeof item === 'string' ? parseEvent(item) : item;
      if (event !== null) {
        this.#forEach(event.feature, (s) => s.onEvent(event));
        applied += 1;
      }
    }
    // Seen by a PerformanceObserver and in the browser's profiler; not kept.
    performance.measure(EVENTS_MEASURE, { start, detail: { events: applied } });
    performance.clearMeasures(EVENTS_MEASURE);
  }

  #cancelEvents(): void {
    this.#clearTimer('events');
    this.#framed = false;
    if (this.#frame !== null) {
      cancelAnimationFrame(this.#frame);
      this.#frame = null;
    }
  }

  #forEach(feature: string, deliver: (subscriber: FeatureSubscriber) => void): void {
    this.#subscribers.get(feature)?.forEach(deliver);
  }

  #sendSubscribe(features: string[]): void {
    if (features.length === 0) {
      return;
    }
    const since: Record<string, number> = {};
    for (const feature of features) {
      for (const subscriber of this.#subscribers.get(feature) ?? []) {
        const seq = subscriber.lastSeq();
        if (seq !== null) {
          since[feature] = Math.min(since[feature] ?? seq, seq);
        }
      }
    }
    this.#send({ type: 'subscribe', features, since });
  }

  #retrySubscribe(feature: string): void {
    this.#retrying.add(feature);
    this.#timers.retry ??= setTimeout(() => {
      delete this.#timers.retry;
      const features = [...this.#retrying].filter((f) => this.#subscribers.has(f));
      this.#retrying.clear();
      this.#sendSubscribe(features);
    }, this.timings.backoffBase);
  }

  #send(message: ClientMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) {
      if (this.#config.debug === true) {
        // Never the token itself.
        console.debug(
          '[aegis] →',
          message.type === 'auth' ? { type: 'auth', token: '…' } : message,
        );
      }
      this.#socket.send(JSON.stringify(message));
    }
  }

  #startHeartbeat(): void {
    this.#clearTimer('heartbeat');
    const beat = () => {
      this.#send({ type: 'ping' });
      // Silence until the answer is due ends the connection.
      this.#timers.pong ??= setTimeout(() => this.#socket?.close(), this.timings.pongTimeout);
      this.#timers.heartbeat = setTimeout(beat, this.timings.heartbeat);
    };
    this.#timers.heartbeat = setTimeout(beat, this.timings.heartbeat);
  }

  #closed(socket: WebSocket, code: number): void {
    if (this.#socket !== socket) {
      return;
    }
    this.#socket = null;
    this.#ready = false;
    // A reconnect subscribes every feature again.
    this.#retrying.clear();
    for (const timer of ['heartbeat', 'pong', 'refresh', 'retry'] as const) {
      this.#clearTimer(timer);
    }
    if (this.#subscribers.size === 0) {
      this.#statusSignal.set('idle');
      return;
    }
    // A stopping instance asks for a reconnect at once: the first step of
    // the backoff, spread so its clients do not all arrive together.
    if (code === CLOSE_RESTARTING) {
      this.#attempt = 0;
    }
    // Equal jitter: half the exponentially growing bound, plus a random
    // part of the other half, so clients spread out yet none retries at once.
    const bound = this.#backoff(this.#attempt);
    const delay = bound / 2 + Math.random() * (bound / 2);
    this.#attempt += 1;
    this.#statusSignal.set('reconnecting');
    this.#timers.reconnect = setTimeout(() => this.#connect(), delay);
  }

  /** The wait after `attempt` failures in a row: doubling from the base, up to the maximum. */
  #backoff(attempt: number): number {
    return Math.min(this.timings.backoffMax, this.timings.backoffBase * 2 ** attempt);
  }

  #close(): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#ready = false;
    this.#retrying.clear();
    for (const timer of ['reconnect', 'heartbeat', 'pong', 'refresh', 'retry', 'idle'] as const) {
      this.#clearTimer(timer);
    }
    // No feature is left to apply them to.
    this.#cancelEvents();
    this.#waiting = [];
    socket?.close(1000);
    this.#statusSignal.set('idle');
  }

  #clearTimer(name: Timer): void {
    const timer = this.#timers[name];
    if (timer !== undefined) {
      clearTimeout(timer);
      delete this.#timers[name];
    }
  }
}
