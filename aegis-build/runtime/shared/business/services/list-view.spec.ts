import { describe, expect, it } from 'vitest';

import { ListFilter, ListQuery, queryFromParams, queryParams } from './list-query';
import {
  ListView,
  PageState,
  RowChange,
  ViewFields,
  applyToPage,
  compareCodePoints,
  compareInView,
  matchesView,
} from './list-view';

interface Row {
  id: number;
  name: string;
  amount: number;
  status: 'draft' | 'approved';
  done: boolean;
  due: string | null;
  note: string | null;
}

const FIELDS = {
  id: {
    label: 'Id',
    kind: 'number',
    nullable: false,
    search: false,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte'],
  },
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
    nullable: false,
    search: false,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte'],
  },
  status: {
    label: 'Status',
    kind: 'enum',
    nullable: false,
    search: false,
    ops: ['eq', 'in'],
    options: ['draft', 'approved'],
  },
  done: { label: 'Done', kind: 'boolean', nullable: false, search: false, ops: ['eq'] },
  due: {
    label: 'Due',
    kind: 'instant',
    nullable: true,
    search: true,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'empty'],
  },
  note: {
    label: 'Note',
    kind: 'text',
    nullable: true,
    search: true,
    ops: ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'empty'],
  },
} as const satisfies ViewFields;

function row(id: number, name: string, amount: number, extra: Partial<Row> = {}): Row {
  return { id, name, amount, status: 'draft', done: false, due: null, note: null, ...extra };
}

function view(query: Partial<ListQuery>): ListView<Row> {
  return { query: { page: 1, pageSize: 3, ...query }, fields: FIELDS, idOf: (r) => r.id };
}

const filter = (field: string, op: ListFilter['op'], value: string): ListFilter => ({
  field,
  op,
  value,
});

describe('matchesView', () => {
  const r = row(1, 'Éclair', 25.5, {
    status: 'approved',
    done: true,
    due: '2026-01-01T00:00:00.500Z',
    note: '50%_off',
  });
  const matches = (...filters: ListFilter[]): boolean | null =>
    matchesView(r, { page: 1, pageSize: 20, filters }, FIELDS);

  it('applies each operator by the field type', () => {
    expect(matches(filter('amount', 'eq', '25.5'))).toBe(true);
    expect(matches(filter('amount', 'gte', '25.5'), filter('amount', 'lt', '26'))).toBe(true);
    expect(matches(filter('amount', 'gt', '25.5'))).toBe(false);
    expect(matches(filter('amount', 'in', '1,25.5'))).toBe(true);
    expect(matches(filter('status', 'in', 'draft'))).toBe(false);
    expect(matches(filter('status', 'eq', 'approved'))).toBe(true);
    expect(matches(filter('done', 'eq', 'true'))).toBe(true);
    // A zoned time compares as a time, whatever its zone.
    expect(matches(filter('due', 'gt', '2026-01-01T01:00:00+01:00'))).toBe(true);
    expect(matches(filter('due', 'lt', '2026-01-01T00:00:00.400Z'))).toBe(false);
    expect(matches(filter('note', 'contains', '%_O'))).toBe(true);
    expect(matches(filter('note', 'empty', 'false'))).toBe(true);
    expect(matches(filter('note', 'empty', 'true'))).toBe(false);
    // Text ranges by code point: `É` after every ASCII letter.
    expect(matches(filter('name', 'gt', 'z'))).toBe(true);
  });

  it('lets null pass no filter but `empty`', () => {
    const empty = row(2, 'b', 1);
    const query = (f: ListFilter): ListQuery => ({ page: 1, pageSize: 20, filters: [f] });
    expect(matchesView(empty, query(filter('note', 'contains', 'x')), FIELDS)).toBe(false);
    expect(matchesView(empty, query(filter('due', 'lt', '2030-01-01T00:00:00Z')), FIELDS)).toBe(
      false,
    );
    expect(matchesView(empty, query(filter('note', 'empty', 'true')), FIELDS)).toBe(true);
  });

  it('searches the text fields as the server does', () => {
    const search = (q: string): boolean | null =>
      matchesView(r, { page: 1, pageSize: 20, q }, FIELDS);
    expect(search('ÉCL')).toBe(true);
    expect(search('  %_\u0007')).toBe(true);
    expect(search('approved')).toBe(false);
    expect(search('2026-01')).toBe(true);
  });

  it('leaves to the server what only it can tell', () => {
    // SQLite and PostgreSQL disagree on the case of `É`.
    expect(matches(filter('name', 'contains', 'écl'))).toBeNull();
    expect(matches(filter('name', 'contains', 'Écl'))).toBe(true);
    expect(matches(filter('colour', 'eq', 'red'))).toBeNull();
    expect(matches(filter('amount', 'eq', 'lots'))).toBeNull();
    // A failing filter decides, whatever the others.
    expect(matches(filter('colour', 'eq', 'red'), filter('amount', 'eq', '1'))).toBe(false);
  });
});

describe('compareInView', () => {
  it('orders text by code point, null first ascending and last descending, ties by id', () => {
    const rows = [
      row(1, 'b', 1, { note: 'x' }),
      row(2, 'B', 1),
      row(3, 'É', 2, { note: 'a' }),
      row(4, 'a', 1),
    ];
    const sorted = (sort: string): number[] =>
      [...rows].sort((a, b) => compareInView(a, b, view({ sort })) ?? 0).map((r) => r.id);
    expect(sorted('name')).toEqual([2, 4, 1, 3]);
    expect(sorted('-name')).toEqual([3, 1, 4, 2]);
    expect(sorted('note')).toEqual([2, 4, 3, 1]);
    expect(sorted('-note')).toEqual([1, 3, 2, 4]);
    expect(sorted('-amount')).toEqual([3, 1, 2, 4]);
    expect(compareInView(rows[0], rows[1], view({ sort: 'colour' }))).toBeNull();
  });

  it('orders astral code points after the rest of the BMP, as UTF-8 bytes do', () => {
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
  });
});

describe('applyToPage', () => {
  // Page 2 of [10, 20, 30 | 40, 50, 60 | 70], by amount.
  const page2: PageState<Row> = {
    items: [row(4, 'd', 40), row(5, 'e', 50), row(6, 'f', 60)],
    total: 7,
  };
  const byAmount = view({ page: 2, sort: 'amount' });
  const apply = (
    change: RowChange<Row>,
    v = byAmount,
    page = page2,
  ): ReturnType<typeof applyToPage<Row>> => applyToPage(v, page, change);
  const ids = (result: PageState<Row>): number[] => result.items.map((r) => r.id);

  it('created: a matching row inside the page enters in order and pushes the last one on', () => {
    const result = apply({ kind: 'created', item: row(9, 'i', 45) });
    expect([ids(result), result.total, result.stale]).toEqual([[4, 9, 5], 8, false]);
  });

  it('created: after a full page changes only the total; before it, the page is stale', () => {
    const after = apply({ kind: 'created', item: row(9, 'i', 65) });
    expect([ids(after), after.total, after.stale]).toEqual([[4, 5, 6], 8, false]);
    const before = apply({ kind: 'created', item: row(9, 'i', 5) });
    expect([ids(before), before.total, before.stale]).toEqual([[4, 5, 6], 8, true]);
  });

  it('created: on the last, short page it is appended', () => {
    const last: PageState<Row> = { items: [row(7, 'g', 70)], total: 7 };
    const result = apply(
      { kind: 'created', item: row(9, 'i', 80) },
      view({ page: 3, sort: 'amount' }),
      last,
    );
    expect([ids(result), result.total, result.stale]).toEqual([[7, 9], 8, false]);
  });

  it('created: a row outside the filter changes nothing', () => {
    const filtered = view({ page: 2, sort: 'amount', filters: [filter('status', 'eq', 'draft')] });
    const result = apply(
      { kind: 'created', item: row(9, 'i', 45, { status: 'approved' }) },
      filtered,
    );
    expect(result).toEqual({ ...page2, stale: false });
  });

  it('updated: a loaded row that keeps its place is replaced where it stands', () => {
    const result = apply({ kind: 'updated', item: row(5, 'renamed', 50) });
    expect([result.items[1].name, result.total, result.stale]).toEqual(['renamed', 7, false]);
  });

  it('updated: a loaded row that moves inside the page is reordered', () => {
    const result = apply({ kind: 'updated', item: row(4, 'd', 55) });
    expect([ids(result), result.stale]).toEqual([[5, 4, 6], false]);
  });

  it('updated: a loaded row that moves off the page leaves it, and the page is read again', () => {
    const later = apply({ kind: 'updated', item: row(6, 'f', 99) });
    expect([ids(later), later.total, later.stale]).toEqual([[4, 5], 7, true]);
    const earlier = apply({ kind: 'updated', item: row(4, 'd', 1) });
    expect([ids(earlier), earlier.stale]).toEqual([[5, 6], true]);
  });

  it('updated: a loaded row that stops matching leaves, and the total follows', () => {
    const filtered = view({ page: 1, sort: 'amount', filters: [filter('status', 'eq', 'draft')] });
    const onePage: PageState<Row> = { items: [row(4, 'd', 40), row(5, 'e', 50)], total: 2 };
    const result = apply(
      { kind: 'updated', item: row(4, 'd', 40, { status: 'approved' }) },
      filtered,
      onePage,
    );
    expect([ids(result), result.total, result.stale]).toEqual([[5], 1, false]);
    // With rows after the page, one of them moves up: stale.
    const full = apply(
      { kind: 'updated', item: row(4, 'd', 40, { status: 'approved' }) },
      { ...filtered, query: { ...filtered.query, page: 2 } },
    );
    expect([ids(full), full.total, full.stale]).toEqual([[5, 6], 6, true]);
  });

  it('updated: a row not loaded is stale under a filter or another order, and nothing in id order', () => {
    expect(apply({ kind: 'updated', item: row(9, 'i', 45) }).stale).toBe(true);
    const plain = apply({ kind: 'updated', item: row(9, 'i', 45) }, view({ page: 2 }));
    expect(plain).toEqual({ ...page2, stale: false });
  });

  it('deleted: a loaded row leaves and the total follows; a row after it makes the page stale', () => {
    const result = apply({ kind: 'deleted', id: 5 });
    expect([ids(result), result.total, result.stale]).toEqual([[4, 6], 6, true]);
    const last: PageState<Row> = { items: [row(7, 'g', 70)], total: 7 };
    const lastResult = apply({ kind: 'deleted', id: 7 }, view({ page: 3, sort: 'amount' }), last);
    expect([ids(lastResult), lastResult.total, lastResult.stale]).toEqual([[], 6, false]);
  });

  it('deleted: a row not loaded lowers the total; before this page, or under a filter, the page is stale', () => {
    const first = apply({ kind: 'deleted', id: 70 }, view({ page: 1 }), {
      items: [row(1, 'a', 1)],
      total: 9,
    });
    expect([first.total, first.stale]).toEqual([8, false]);
    expect(apply({ kind: 'deleted', id: 1 }).stale).toBe(true);
    const filtered = view({ page: 1, filters: [filter('done', 'eq', 'false')] });
    expect(apply({ kind: 'deleted', id: 70 }, filtered).stale).toBe(true);
  });

  it('never shows what a fresh load would not, whenever it is not stale (random changes)', () => {
    // A tiny server with its own order and filter, independent of list-view.ts.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const queries: ListQuery[] = [
      { page: 2, pageSize: 4, sort: '-amount', filters: [filter('status', 'eq', 'draft')] },
      { page: 1, pageSize: 5, sort: 'name' },
      { page: 3, pageSize: 3 },
      { page: 2, pageSize: 4, sort: 'amount', q: 'x' },
    ];
    const passes = (r: Row, q: ListQuery): boolean =>
      (q.q === undefined || r.name.includes(q.q)) &&
      (q.filters === undefined || r.status === 'draft');
    const order =
      (q: ListQuery) =>
      (a: Row, b: Row): number => {
        const by = q.sort?.replace('-', '');
        const sign = q.sort?.startsWith('-') ? -1 : 1;
        const key = (r: Row): number | string =>
          by === 'amount' ? r.amount : by === 'name' ? r.name : r.id;
        const ka = key(a);
        const kb = key(b);
        return ka < kb ? -sign : ka > kb ? sign : a.id - b.id;
      };
    const fresh = (rows: Row[], q: ListQuery): PageState<Row> => {
      const all = rows.filter((r) => passes(r, q)).sort(order(q));
      return {
        items: all.slice((q.page - 1) * q.pageSize, q.page * q.pageSize),
        total: all.length,
      };
    };
    const names = ['ax', 'b', 'cx', 'd', 'ex', 'f'];
    let checked = 0;
    for (const query of queries) {
      let rows: Row[] = Array.from({ length: 20 }, (_, i) =>
        row(i + 1, names[random(6)], random(10), {
          status: random(2) === 0 ? 'draft' : 'approved',
        }),
      );
      let page = fresh(rows, query);
      let nextId = 100;
      for (let step = 0; step < 300; step++) {
        const kind = random(3);
        let change: RowChange<Row>;
        if (kind === 0 || rows.length < 5) {
          const item = row(nextId++, names[random(6)], random(10), {
            status: random(2) === 0 ? 'draft' : 'approved',
          });
          rows = [...rows, item];
          change = { kind: 'created', item };
        } else if (kind === 1) {
          const target = rows[random(rows.length)];
          const item = {
            ...target,
            amount: random(10),
            name: names[random(6)],
            status: random(2) === 0 ? 'draft' : 'approved',
          } as Row;
          rows = rows.map((r) => (r.id === item.id ? item : r));
          change = { kind: 'updated', item };
        } else {
          const target = rows[random(rows.length)];
          rows = rows.filter((r) => r.id !== target.id);
          change = { kind: 'deleted', id: target.id };
        }
        const result = applyToPage({ query, fields: FIELDS, idOf: (r) => r.id }, page, change);
        const truth = fresh(rows, query);
        if (!result.stale) {
          expect({ ids: ids(result), total: result.total }).toEqual({
            ids: ids(truth),
            total: truth.total,
          });
          checked++;
        }
        // A stale page is read again: it becomes the truth.
        page = result.stale ? truth : result;
      }
    }
    // Most changes are decided locally.
    expect(checked).toBeGreaterThan(300);
  });
});

describe('queryParams and queryFromParams', () => {
  it('round-trip a view through the URL', () => {
    const query: ListQuery = {
      page: 2,
      pageSize: 50,
      sort: '-amount',
      q: 'paris',
      filters: [filter('status', 'in', 'draft,approved'), filter('amount', 'gte', '10')],
    };
    expect(queryFromParams(queryParams(query), { pageSize: 20 })).toEqual(query);
    expect(
      queryFromParams({ page: 'x', colour: 'red', 'amount.like': '1' }, { pageSize: 20 }),
    ).toEqual({ page: 1, pageSize: 20 });
  });
});
