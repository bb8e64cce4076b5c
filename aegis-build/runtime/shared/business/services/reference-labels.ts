import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, Signal, WritableSignal, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';

import { EventMessage, JsonObject, ListResponse } from '../models/aegis-protocol.types';
import { AEGIS_CONFIG, isJsonObject } from './aegis-api';
import { FeatureSubscriber, WebSocketService } from './websocket.service';

/** The rows a reference points at: another module, by its REST names. */
export interface ReferenceTarget {
  /** The referenced feature, such as `departments`. */
  readonly feature: string;
  /** Its id's JSON name. */
  readonly idField: string;
  /** The JSON name of the field that shows one of its rows. */
  readonly labelField: string;
  /** It has events, so labels follow its changes live. */
  readonly live: boolean;
}

/** A row a reference may point at. */
export interface ReferenceOption {
  readonly id: number | string;
  readonly label: string;
}

/** The most matches a search offers. */
export const REFERENCE_MATCHES = 20;

function optionOf(target: ReferenceTarget, row: JsonObject): ReferenceOption | null {
  const id = row[target.idField];
  if (typeof id !== 'number' && typeof id !== 'string') {
    return null;
  }
  const label = row[target.labelField];
  return { id, label: label === null || label === undefined ? String(id) : String(label) };
}

/** The most ids one read asks for: what the list API's `in` filter takes. */
export const LABEL_READ_BATCH = 100;

/** A row's label, and the feature's seq it is known at (`null`: not known). */
interface Label {
  readonly value: WritableSignal<string | null>;
  at: number | null;
  /** The uses showing it; at 0 it is forgotten. */
  holders: number;
}

/** A label held by one use, and the function that lets it go. */
export interface HeldLabel {
  readonly label: Signal<string | null>;
  release(): void;
}

/** One referenced feature's labels, and its events' subscription. */
class FeatureLabels {
  readonly labels = new Map<string, Label>();
  /** Ids to read, gathered until the current task ends. */
  readonly wanted = new Set<string>();
  /** The seq of the last event, where a new subscription resumes. */
  seq: number | null = null;
  /** Where the subscription went live: reads at an older seq may have missed changes. */
  liveFrom: number | null = null;
  /** Ids read before the subscription answered, checked when it does. */
  readonly early = new Set<string>();
  stop: (() => void) | null = null;
}

/**
 * The labels of referenced rows, read from their module's REST API and,
 * for a module with events, kept current from its events: a renamed
 * department reads anew in every list that shows it.
 *
 * The ids a page asks for in one task are read together, in one list
 * request filtered by id (`id.in=`), which answers with its seq. A label
 * keeps the newest value by seq, so a read that lands after a newer event
 * does not undo it; and a read older than the subscription's start, which
 * may have missed changes that will never come as events, is read again.
 * A label is kept while a use holds it (`hold`, as the `referenceLabel`
 * pipe does for each cell) and forgotten once none does.
 */
@Injectable({ providedIn: 'root' })
export class ReferenceLabels {
  readonly #http = inject(HttpClient);
  readonly #config = inject(AEGIS_CONFIG);
  readonly #websocket = inject(WebSocketService);
  readonly #features = new Map<string, FeatureLabels>();

  /** The label of row `id` of `target`, kept for good: `null` until read, or when there is none. */
  label(target: ReferenceTarget, id: number | string | null | undefined): Signal<string | null> {
    return id === null || id === undefined
      ? signal(null).asReadonly()
      : this.hold(target, id).label;
  }

  /**
   * The label of row `id` of `target`, kept until released: `null` until
   * read, or when there is none. Let go, it is forgotten once the current
   * task ends with no other use holding it (a row shown again in the same
   * render keeps its label).
   */
  hold(target: ReferenceTarget, id: number | string): HeldLabel {
    const feature = this.#feature(target);
    const key = String(id);
    let label = feature.labels.get(key);
    if (label === undefined) {
      label = { value: signal<string | null>(null), at: null, holders: 0 };
      feature.labels.set(key, label);
      this.#want(target, feature, [key]);
    }
    const held = label;
    held.holders += 1;
    let released = false;
    const release = (): void => {
      if (released) {
        return;
      }
      released = true;
      held.holders -= 1;
      queueMicrotask(() => {
        if (held.holders === 0 && feature.labels.get(key) === held) {
          feature.labels.delete(key);
          feature.early.delete(key);
        }
      });
    };
    return { label: held.value.asReadonly(), release };
  }

  /** The rows of `target` whose text contains `text`: a page of at most {@link REFERENCE_MATCHES}. */
  async search(target: ReferenceTarget, text: string): Promise<readonly ReferenceOption[]> {
    let params = new HttpParams()
      .set('page', 1)
      .set('pageSize', REFERENCE_MATCHES)
      .set('sort', target.labelField);
    if (text.trim() !== '') {
      params = params.set('q', text.trim());
    }
    const page = await firstValueFrom(
      this.#http.get<ListResponse<JsonObject>>(`${this.#config.apiBaseUrl}/${target.feature}`, {
        params,
      }),
    );
    const feature = this.#feature(target);
    const options: ReferenceOption[] = [];
    for (const row of page.data) {
      const option = optionOf(target, row);
      if (option !== null) {
        options.push(option);
        this.#apply(feature, String(option.id), option.label, page.seq);
      }
    }
    return options;
  }

  #feature(target: ReferenceTarget): FeatureLabels {
    let feature = this.#features.get(target.feature);
    if (feature === undefined) {
      feature = new FeatureLabels();
      this.#features.set(target.feature, feature);
      if (target.live) {
        feature.stop = this.#websocket.subscribe(target.feature, this.#subscriber(target, feature));
      }
    }
    return feature;
  }

  /** Sets a label, unless what it shows is newer (a later seq). */
  #apply(feature: FeatureLabels, key: string, value: string | null, at: number | null): void {
    const label = feature.labels.get(key);
    if (label === undefined || (label.at !== null && at !== null && at < label.at)) {
      return;
    }
    label.value.set(value);
    label.at = at;
  }

  /** Reads these labels with the others asked for in the same task. */
  #want(target: ReferenceTarget, feature: FeatureLabels, keys: Iterable<string>): void {
    const idle = feature.wanted.size === 0;
    for (const key of keys) {
      feature.wanted.add(key);
    }
    if (idle && feature.wanted.size > 0) {
      queueMicrotask(() => {
        // Those let go meanwhile are not read.
        const keys = [...feature.wanted].filter((key) => feature.labels.has(key));
        feature.wanted.clear();
        for (let start = 0; start < keys.length; start += LABEL_READ_BATCH) {
          void this.#read(target, feature, keys.slice(start, start + LABEL_READ_BATCH));
        }
      });
    }
  }

  async #read(
    target: ReferenceTarget,
    feature: FeatureLabels,
    keys: readonly string[],
  ): Promise<void> {
    // An id with a comma cannot be one value of an `in` filter: read alone.
    const alone = keys.filter((key) => key.includes(','));
    for (const key of alone) {
      void this.#readOne(target, feature, key);
    }
    const together = keys.filter((key) => !key.includes(','));
    if (together.length === 0) {
      return;
    }
    const params = new HttpParams()
      .set('page', 1)
      .set('pageSize', together.length)
      .set(`${target.idField}.in`, together.join(','));
    let page: ListResponse<JsonObject>;
    try {
      page = await firstValueFrom(
        this.#http.get<ListResponse<JsonObject>>(`${this.#config.apiBaseUrl}/${target.feature}`, {
          params,
        }),
      );
    } catch {
      for (const key of together) {
        this.#apply(feature, key, null, null);
      }
      return;
    }
    const found = new Map<string, string>();
    for (const row of page.data) {
      const option = optionOf(target, row);
      if (option !== null) {
        found.set(String(option.id), option.label);
      }
    }
    for (const key of together) {
      this.#apply(feature, key, found.get(key) ?? null, page.seq);
    }
    // A label let go while it was read is not followed any more.
    const held = together.filter((key) => feature.labels.has(key));
    if (!target.live) {
      return;
    }
    if (feature.liveFrom === null) {
      for (const key of held) {
        feature.early.add(key);
      }
    } else if (page.seq < feature.liveFrom) {
      this.#want(target, feature, held);
    }
  }

  async #readOne(target: ReferenceTarget, feature: FeatureLabels, key: string): Promise<void> {
    try {
      const row = await firstValueFrom(
        this.#http.get<JsonObject>(
          `${this.#config.apiBaseUrl}/${target.feature}/${encodeURIComponent(key)}`,
        ),
      );
      this.#apply(feature, key, optionOf(target, row)?.label ?? null, null);
    } catch {
      this.#apply(feature, key, null, null);
    }
  }

  #subscriber(target: ReferenceTarget, feature: FeatureLabels): FeatureSubscriber {
    return {
      lastSeq: () => feature.seq,
      onEvent: (event: EventMessage) => {
        feature.seq = event.meta.seq;
        if (!isJsonObject(event.data)) {
          return;
        }
        const key = String(event.data[target.idField] ?? event.data['id']);
        if (event.action === 'deleted') {
          this.#apply(feature, key, null, event.meta.seq);
        } else if (event.action === 'created' || event.action === 'updated') {
          this.#apply(feature, key, optionOf(target, event.data)?.label ?? null, event.meta.seq);
        }
      },
      onSubscribed: (seq: number, recovered: boolean) => {
        const first = feature.liveFrom === null;
        if (!first && recovered) {
          return;
        }
        feature.liveFrom = seq;
        feature.seq = seq;
        // Back after missing events: every label may be stale.
        const stale = first
          ? [...feature.early].filter((key) => (feature.labels.get(key)?.at ?? -1) < seq)
          : [...feature.labels.keys()];
        feature.early.clear();
        this.#want(target, feature, stale);
      },
      onResync: () => {
        // What is read from now on misses nothing that comes after it.
        feature.seq = null;
        feature.liveFrom = 0;
        this.#want(target, feature, feature.labels.keys());
      },
      onError: () => undefined,
    };
  }
}

/** How long typing pauses before a type-ahead asks the server. */
export const SEARCH_DELAY_MS = 250;

/**
 * A type-ahead's matches among a referenced module's rows: asked once
 * typing pauses ({@link SEARCH_DELAY_MS}); an answer to an earlier
 * question, arriving after a later one, is dropped; `keep` leaves some out
 * (the rows already chosen). Its owner calls `stop` when it goes.
 */
export class ReferenceSearch {
  readonly options = signal<readonly ReferenceOption[]>([]);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #asked = 0;

  constructor(
    private readonly labels: ReferenceLabels,
    private readonly target: () => ReferenceTarget,
    private readonly keep: (option: ReferenceOption) => boolean = () => true,
  ) {}

  /** Asks for the rows matching `text`, once typing pauses. */
  ask(text: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const asked = ++this.#asked;
      const answer = (options: readonly ReferenceOption[]): void => {
        if (asked === this.#asked) {
          this.options.set(options.filter((option) => this.keep(option)));
        }
      };
      this.labels
        .search(this.target(), text)
        .then(answer)
        .catch(() => answer([]));
    }, SEARCH_DELAY_MS);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
