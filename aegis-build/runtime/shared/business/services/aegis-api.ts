import { HttpErrorResponse, HttpInterceptorFn } from '@angular/common/http';
import { InjectionToken, inject } from '@angular/core';
import { from, switchMap } from 'rxjs';

import { ApiError, FieldError, JsonObject, JsonValue } from '../models/aegis-protocol.types';

/** Where the Aegis back end is, and how to authenticate to it. */
export interface AegisConfig {
  /** The REST API's base, such as `/api`. */
  readonly apiBaseUrl: string;
  /** The WebSocket endpoint; a path such as `/ws` is taken relative to the page. */
  readonly websocketUrl: string;
  /** A current bearer token; called again whenever a fresh one is needed. */
  readonly token: () => Promise<string>;
  /** Logs every WebSocket frame to the console (`console.debug`, tokens left out); off by default. */
  readonly debug?: boolean;
}

/** Provide this once, at the application's root. */
export const AEGIS_CONFIG = new InjectionToken<AegisConfig>('AEGIS_CONFIG');

/** An entity's id: a number or a string, as the Rust id serialises. */
export type EntityId = number | string;

/** Whether a JSON value is an object (not an array, not `null`). */
export function isJsonObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Adds the bearer token to every request for the Aegis API. */
export const aegisAuthInterceptor: HttpInterceptorFn = (request, next) => {
  const config = inject(AEGIS_CONFIG);
  if (!request.url.startsWith(config.apiBaseUrl)) {
    return next(request);
  }
  return from(config.token()).pipe(
    switchMap((token) => next(request.clone({ setHeaders: { Authorization: `Bearer ${token}` } }))),
  );
};

function isApiError(body: unknown): body is ApiError {
  return (
    typeof body === 'object' &&
    body !== null &&
    'message' in body &&
    typeof body.message === 'string' &&
    'code' in body &&
    typeof body.code === 'string'
  );
}

/** A message for a person, from whatever a request failed with. */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof HttpErrorResponse) {
    if (isApiError(error.error)) {
      return error.error.message;
    }
    return error.status === 0
      ? 'The server cannot be reached.'
      : `The server answered ${error.status}.`;
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** The per-field problems of a 422, if that is what a request failed with. */
export function apiFieldErrors(error: unknown): readonly FieldError[] {
  if (error instanceof HttpErrorResponse && error.status === 422 && isApiError(error.error)) {
    return error.error.fields ?? [];
  }
  return [];
}

/** The entity as it is now on the server, if a save failed with 409. */
export function conflictCurrent<T>(
  error: unknown,
  isEntity: (value: unknown) => value is T,
): T | null {
  if (!(error instanceof HttpErrorResponse) || error.status !== 409) {
    return null;
  }
  const body: unknown = error.error;
  if (typeof body === 'object' && body !== null && 'current' in body && isEntity(body.current)) {
    return body.current;
  }
  return null;
}
