// Conversions between what form controls hold and what the API takes.

import { AbstractControl, ValidationErrors, ValidatorFn } from '@angular/forms';

/** `null` for an empty string, so optional text is sent as `null`. */
export function emptyToNull(value: string): string | null {
  return value.trim() === '' ? null : value;
}

/** The value of a required control; a valid form never holds `null` there. */
export function requireValue<T>(value: T | null, field: string): T {
  if (value === null) {
    throw new Error(`${field} is required`);
  }
  return value;
}

/** `2026-01-01T10:30:00Z` → `2026-01-01T10:30`, in local time, for `<input type="datetime-local">`. */
export function toDateTimeInput(value: string | null | undefined): string {
  if (!value) {
    return '';
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return '';
  }
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** The local time of a `datetime-local` input, as an ISO 8601 instant. */
export function fromDateTimeInput(value: string): string {
  return new Date(value).toISOString();
}

export function fromDateTimeInputOrNull(value: string): string | null {
  return value === '' ? null : fromDateTimeInput(value);
}

/**
 * A date and time without a zone, `2026-01-01T10:30:00.5`, as
 * `<input type="datetime-local" step="1">` shows it: `2026-01-01T10:30:00`.
 */
export function toLocalDateTimeInput(value: string | null | undefined): string {
  return value ? value.slice(0, 19) : '';
}

/** A `datetime-local` value as the server reads a date and time without a zone: seconds always written. */
export function fromLocalDateTimeInput(value: string): string {
  return value.length === 16 ? `${value}:00` : value;
}

export function fromLocalDateTimeInputOrNull(value: string): string | null {
  return value === '' ? null : fromLocalDateTimeInput(value);
}

/** `10:30:00` → `10:30`, for `<input type="time">`. */
export function toTimeInput(value: string | null | undefined): string {
  return value ? value.slice(0, 5) : '';
}

/** `10:30` → `10:30:00`. */
export function fromTimeInput(value: string): string {
  return value.length === 5 ? `${value}:00` : value;
}

export function fromTimeInputOrNull(value: string): string | null {
  return value === '' ? null : fromTimeInput(value);
}

/** A value as editable JSON text. */
export function toJsonInput(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

/**
 * Parses JSON text typed by a person. The shape is the server's to check:
 * it answers 422 naming the field when the value does not fit.
 */
export function fromJsonInput<T>(text: string): T {
  return JSON.parse(text) as T;
}

/**
 * JSON text typed by a person, for a value the client may leave out: empty
 * text sends nothing, and the server fills the field's default.
 */
export function fromJsonInputOrOmitted<T>(text: string): T | undefined {
  return text.trim() === '' ? undefined : fromJsonInput<T>(text);
}

/** Valid when the control holds JSON text. */
export const jsonValidator: ValidatorFn = (control: AbstractControl): ValidationErrors | null => {
  const value: unknown = control.value;
  if (typeof value !== 'string' || value.trim() === '') {
    return null;
  }
  try {
    JSON.parse(value);
    return null;
  } catch {
    return { json: true };
  }
};

/** Valid when the control holds a whole number (or nothing). */
export const integerValidator: ValidatorFn = (
  control: AbstractControl,
): ValidationErrors | null => {
  const value: unknown = control.value;
  return value === null || value === '' || Number.isInteger(value) ? null : { integer: true };
};
