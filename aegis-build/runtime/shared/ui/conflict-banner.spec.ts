import { describe, expect, it } from 'vitest';

import { ViewFields } from '../business/services/list-view';
import { differences } from './conflict-banner';

const FIELDS = {
  name: {
    label: 'Name',
    kind: 'text',
    nullable: false,
    search: true,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains'],
  },
  amount: {
    label: 'Amount',
    kind: 'number',
    nullable: true,
    search: false,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'empty'],
  },
} as const satisfies ViewFields;

describe('differences', () => {
  it('lists the fields the two versions disagree on, by label, with both values', () => {
    interface Budget {
      readonly id: number;
      readonly name: string;
      readonly amount: number | null;
      readonly version: number;
    }
    const mine: Budget = { id: 1, name: 'Q1', amount: 5, version: 2 };
    const theirs: Budget = { id: 1, name: 'Q1', amount: null, version: 3 };
    expect(differences({ id: 1, mine, theirs }, FIELDS)).toEqual([
      { field: 'Amount', mine: '5', theirs: '—' },
    ]);
  });
});
