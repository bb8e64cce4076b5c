// The generated front end's rule checks against the corpus the server's
// tests run too (aegis/tests/rules-corpus.json): the same verdict and the
// same message for every value.

import { FormControl } from '@angular/forms';
import { describe, expect, it } from 'vitest';

import { FieldRules, ruleViolation, rulesValidator } from './rules';
import corpus from '../../../../../aegis/tests/rules-corpus.json';

interface CorpusGroup {
  readonly rules: FieldRules;
  readonly cases: readonly (readonly [unknown, string | null])[];
}

describe('field rules', () => {
  const groups = corpus as unknown as readonly CorpusGroup[];

  it('give every corpus value the verdict the server gives', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const group of groups) {
      for (const [value, expected] of group.cases) {
        const got = ruleViolation(group.rules, value);
        if (got !== expected) {
          wrong.push(
            `${JSON.stringify(group.rules)} with ${JSON.stringify(value)}: ${got}, expected ${expected}`,
          );
        }
        checked += 1;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(60);
  });

  it('validate a form control, an empty optional text being null', () => {
    const rules: FieldRules = { email: true };
    expect(new FormControl('ada', { validators: [rulesValidator(rules)] }).errors).toEqual({
      rule: 'must be an email address',
    });
    expect(
      new FormControl('', { validators: [rulesValidator(rules, { nullable: true })] }).errors,
    ).toBeNull();
    expect(new FormControl('', { validators: [rulesValidator(rules)] }).errors).toEqual({
      rule: 'must be an email address',
    });
  });
});
