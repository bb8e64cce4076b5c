// A field's validation rules, checked in the form as the server checks
// them: the same verdict and the same message for every value (a corpus
// shared with the server's tests proves it).

import { AbstractControl, ValidationErrors, ValidatorFn } from '@angular/forms';

/** The rules declared on a field with `#[crud(...)]` or in modules.toml. */
export interface FieldRules {
  readonly min?: number;
  readonly max?: number;
  /** In characters: code points, as the server counts Unicode scalar values. */
  readonly minLength?: number;
  readonly maxLength?: number;
  /** A regular expression the whole text must match. */
  readonly pattern?: string;
  readonly email?: boolean;
  /** An absolute `http` or `https` URL. */
  readonly url?: boolean;
  readonly oneOf?: readonly (string | number)[];
}

/** An email address as the HTML standard's `type=email` input accepts it. */
export const EMAIL_PATTERN =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

const patterns = new Map<string, RegExp | null>();

function wholeMatch(pattern: string): RegExp | null {
  let regex = patterns.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(`^(?:${pattern})$`, 'u');
    } catch {
      regex = null;
    }
    patterns.set(pattern, regex);
  }
  return regex;
}

function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

function characters(n: number): string {
  return n === 1 ? '1 character' : `${n} characters`;
}

function oneOfMessage(values: readonly (string | number)[]): string {
  return `must be one of ${values.map((v) => String(v)).join(', ')}`;
}

/**
 * Why `value` breaks `rules` (the first rule broken, in the order of
 * `FieldRules`), or `null` when it keeps them all. `null`, `undefined` and
 * values of other types keep every rule: those are the type's business.
 */
export function ruleViolation(rules: FieldRules, value: unknown): string | null {
  if (typeof value === 'number') {
    if (rules.min !== undefined && value < rules.min) {
      return `must be at least ${rules.min}`;
    }
    if (rules.max !== undefined && value > rules.max) {
      return `must be at most ${rules.max}`;
    }
    if (rules.oneOf !== undefined && rules.oneOf.length > 0 && !rules.oneOf.includes(value)) {
      return oneOfMessage(rules.oneOf);
    }
    return null;
  }
  if (typeof value !== 'string') {
    return null;
  }
  const length = [...value].length;
  if (rules.minLength !== undefined && length < rules.minLength) {
    return `must be at least ${characters(rules.minLength)}`;
  }
  if (rules.maxLength !== undefined && length > rules.maxLength) {
    return `must be at most ${characters(rules.maxLength)}`;
  }
  if (rules.pattern !== undefined) {
    const regex = wholeMatch(rules.pattern);
    if (regex === null) {
      return `has a pattern the server cannot read: ${rules.pattern}`;
    }
    if (!regex.test(value)) {
      return `must match the pattern ${rules.pattern}`;
    }
  }
  if (rules.email === true && !EMAIL_PATTERN.test(value)) {
    return 'must be an email address';
  }
  if (rules.url === true && !isWebUrl(value)) {
    return 'must be a web address starting with http:// or https://';
  }
  if (rules.oneOf !== undefined && rules.oneOf.length > 0 && !rules.oneOf.includes(value)) {
    return oneOfMessage(rules.oneOf);
  }
  return null;
}

/**
 * A control's validator for `rules`: the error `rule` holds the message.
 * With `nullable`, an empty text is `null` (what the form sends) and so
 * keeps every rule.
 */
export function rulesValidator(
  rules: FieldRules,
  options: { readonly nullable?: boolean } = {},
): ValidatorFn {
  return (control: AbstractControl): ValidationErrors | null => {
    const value: unknown = control.value;
    if (options.nullable === true && value === '') {
      return null;
    }
    const message = ruleViolation(rules, value);
    return message === null ? null : { rule: message };
  };
}
