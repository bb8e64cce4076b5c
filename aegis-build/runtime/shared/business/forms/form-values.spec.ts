// The conversions between form controls and the API's values.

import { describe, expect, it } from 'vitest';

import {
  emptyToNull,
  fromJsonInputOrOmitted,
  fromLocalDateTimeInput,
  fromLocalDateTimeInputOrNull,
  fromTimeInput,
  toLocalDateTimeInput,
  toTimeInput,
} from './form-values';

describe('form values', () => {
  it('edits a date and time without a zone as the datetime-local input shows it', () => {
    expect(toLocalDateTimeInput('2026-03-01T10:30:00')).toBe('2026-03-01T10:30:00');
    expect(toLocalDateTimeInput('2026-03-01T10:30:00.250')).toBe('2026-03-01T10:30:00');
    expect(toLocalDateTimeInput(null)).toBe('');
    // A browser that leaves out zero seconds: the server still gets them.
    expect(fromLocalDateTimeInput('2026-03-01T10:30')).toBe('2026-03-01T10:30:00');
    expect(fromLocalDateTimeInput('2026-03-01T10:30:15')).toBe('2026-03-01T10:30:15');
    expect(fromLocalDateTimeInputOrNull('')).toBeNull();
  });

  it('edits a time and optional text', () => {
    expect(toTimeInput('10:30:00')).toBe('10:30');
    expect(fromTimeInput('10:30')).toBe('10:30:00');
    expect(emptyToNull('  ')).toBeNull();
    expect(emptyToNull('a')).toBe('a');
  });

  it('leaves out an empty optional JSON value, and reads a typed one', () => {
    expect(fromJsonInputOrOmitted<string[]>('  ')).toBeUndefined();
    expect(fromJsonInputOrOmitted<string[]>('["a"]')).toEqual(['a']);
    expect(JSON.stringify({ name: 'x', tags: fromJsonInputOrOmitted<string[]>('') })).toBe(
      '{"name":"x"}',
    );
  });
});
