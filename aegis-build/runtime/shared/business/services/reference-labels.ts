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

/** One referenced feature's labels, and its events' subscription. */
class FeatureLabels {
  readonly labels = new Map<string, WritableSignal<string | null>>();
  seq: number | null = null;
  stop: (() => void) | null = null;
}

/**
 * The labels of referenced rows, read from their module's REST API once
 * each and, for a module with events, kept current from its events: a
 * renamed department reads anew in every list that shows it.
 */
@Injectable({ providedIn: 'root' })
export class ReferenceLabels {
  private readonly http = inject(HttpClient);
  private readonly config = inject(AEGIS_CONFIG);
  private readonly websocket = inject(WebSocketService);
  private readonly features = new Map<string, FeatureLabels>();

  /** The label of row `id` of `target`: `null` until read, or when there is none. */
  label(target: ReferenceTarget, id: number | string | null | undefined): Signal<string | null> {
    if (id === null || id === undefined) {
      return signal(null).asReadonly();
    }
    const feature = this.feature(target);
    const key = String(id);
    let label = feature.labels.get(key);
    if (label === undefined) {
      label = signal<string | null>(null);
      feature.labels.set(key, label);
      void this.read(target, key, label);
    }
    return label.asReadonly();
  }

  /** The rows of `target` whose text contains `text`: a page of at most {@link REFERENCE_MATCHES}. */
  async search(target: ReferenceTarget, text: string): Promise<readonly ReferenceOption[]> {
    let params = new HttpParams().set('page', 1).set('pageSize', REFERENCE_MATCHES).set('sort', target.labelField);
    if (text.trim() !== '') {
      params = params.set('q', text.trim());
    }
    const page = await firstValueFrom(
      this.http.get<ListResponse<JsonObject>>(`${this.config.apiBaseUrl}/${target.feature}`, { params }),
    );
    const options: ReferenceOption[] = [];
    for (const row of page.data) {
      const option = optionOf(target, row);
      if (option !== null) {
        options.push(option);
        this.feature(target).labels.get(String(option.id))?.set(option.label);
      }
    }
    return options;
  }

  private feature(target: ReferenceTarget): FeatureLabels {
    let feature = this.features.get(target.feature);
    if (feature === undefined) {
      feature = new FeatureLabels();
      this.features.set(target.feature, feature);
      if (target.live) {
        feature.stop = this.websocket.subscribe(target.feature, this.subscriber(target, feature));
      }
    }
    return feature;
  }

  private async read(target: ReferenceTarget, key: string, label: WritableSignal<string | null>): Promise<void> {
    try {
      const row = await firstValueFrom(
        this.http.get<JsonObject>(`${this.config.apiBaseUrl}/${target.feature}/${encodeURIComponent(key)}`),
      );
      label.set(optionOf(target, row)?.label ?? null);
    } catch {
      label.set(null);
    }
  }

  private subscriber(target: ReferenceTarget, feature: FeatureLabels): FeatureSubscriber {
    const rereadAll = (): void => {
      for (const [key, label] of feature.labels) {
        void this.read(target, key, label);
      }
    };
    return {
      lastSeq: () => feature.seq,
      onEvent: (event: EventMessage) => {
        feature.seq = event.meta.seq;
        if (!isJsonObject(event.data)) {
          return;
        }
        const id = event.data[target.idField] ?? event.data['id'];
        const label = feature.labels.get(String(id));
        if (label === undefined) {
          return;
        }
        if (event.action === 'deleted') {
          label.set(null);
        } else if (event.action === 'created' || event.action === 'updated') {
          label.set(optionOf(target, event.data)?.label ?? null);
        }
      },
      onSubscribed: (seq: number, recovered: boolean) => {
        if (feature.seq === null || !recovered) {
          if (feature.seq !== null) {
            rereadAll();
          }
          feature.seq = seq;
        }
      },
      onResync: () => {
        feature.seq = null;
        rereadAll();
      },
      onError: () => undefined,
    };
  }
}
