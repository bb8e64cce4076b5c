// The stand-ins a spec of a generated feature needs: the real HTTP client
// on its testing backend and a WebSocketService that records subscribers.
// They use the app's copy of the runtime (the runtime's own specs, beside
// it in aegis-build/runtime, have theirs).

import { EnvironmentProviders, Injectable, Provider, signal } from '@angular/core';
import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';

import { AEGIS_CONFIG } from '../app/shared/business/services/aegis-api';
import { ImportTracker } from '../app/shared/business/services/import-tracker';
import {
  ConnectionStatus,
  FeatureSubscriber,
  WebSocketService,
} from '../app/shared/business/services/websocket.service';

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

/** A state manager's import job: a feature with import has one. */
export function importJobOf(state: { readonly importJob: ImportTracker | null }): ImportTracker {
  if (state.importJob === null) {
    throw new Error('the feature has no import');
  }
  return state.importJob;
}
