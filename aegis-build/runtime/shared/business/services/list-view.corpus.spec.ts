// The view corpus the server's tests run too (aegis/tests/views-corpus.json,
// aegis/tests/view_corpus.rs): each case's query keeps the same rows in the
// same order here, with nothing left for the server to decide.

import { describe, expect, it } from 'vitest';

import corpus from '../../../../../aegis/tests/views-corpus.json';
import { queryFromParams } from './list-query';
import { ListView, ViewFields, compareInView, matchesView } from './list-view';

type Row = Record<string, unknown> & { id: number };

interface Case {
  readonly query: string;
  readonly ids: readonly number[];
}

const fields = corpus.fields as unknown as ViewFields;
const rows: Row[] = corpus.rows.map((row, index) => ({ ...row, id: index + 1 }));

/** The rows `query` keeps, in its order; `null` where the client cannot tell. */
function listed(query: string): number[] | null {
  const params: Record<string, string> = {};
  new URLSearchParams(query).forEach((value, key) => (params[key] = value));
  const view: ListView<Row> = {
    query: queryFromParams(params, { pageSize: 200 }),
    fields,
    idOf: (row) => row.id,
  };
  const kept: Row[] = [];
  for (const row of rows) {
    const verdict = matchesView(row, view.query, fields);
    if (verdict === null) {
      return null;
    }
    if (verdict) {
      kept.push(row);
    }
  }
  let unknownOrder = false;
  kept.sort((a, b) => {
    const order = compareInView(a, b, view);
    unknownOrder ||= order === null;
    return order ?? 0;
  });
  return unknownOrder ? null : kept.map((row) => row.id);
}

describe('the view corpus', () => {
  it.each(corpus.cases as readonly Case[])(
    '`$query` keeps the rows the server keeps, in its order',
    ({ query, ids }) => {
      expect(listed(query)).toEqual(ids);
    },
  );
});
