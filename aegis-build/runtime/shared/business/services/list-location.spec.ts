import { Injector, runInInjectionContext } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Router, provideRouter } from '@angular/router';
import { describe, expect, it, vi } from 'vitest';

import { ListLocation, PARENT_ROW, ParentRow } from './list-location';
import { ListQuery } from './list-query';
import { ViewFields, matchesView } from './list-view';

interface Budget {
  id: number;
  name: string;
  department: number | null;
}

const FIELDS = {
  id: { label: 'Id', kind: 'number', nullable: false, search: false, ops: ['eq', 'in'] },
  name: { label: 'Name', kind: 'text', nullable: false, search: true, ops: ['eq', 'contains'] },
  department: {
    label: 'Department',
    kind: 'number',
    nullable: true,
    search: false,
    ops: ['eq', 'in', 'empty'],
  },
} satisfies ViewFields;

/** A list's location, under `parent` when given. */
function locate(parent?: ParentRow): ListLocation {
  TestBed.configureTestingModule({
    providers: [
      provideRouter([]),
      ...(parent === undefined ? [] : [{ provide: PARENT_ROW, useValue: parent }]),
    ],
  });
  return runInInjectionContext(TestBed.inject(Injector), () => new ListLocation());
}

describe('ListLocation', () => {
  it("keeps a panel's view to its parent's rows, whatever the user asks for", () => {
    const location = locate({ field: 'department', id: 7 });
    const locked = { field: 'department', op: 'eq', value: '7' };
    expect(location.query()).toEqual({ page: 1, pageSize: 20, filters: [locked] });
    expect(location.filters()).toEqual([]);

    const mine = { field: 'name', op: 'contains', value: 'quay' } as const;
    location.navigate({ ...location.query(), page: 2, sort: '-name', filters: [mine] });
    expect(location.query()).toEqual({
      page: 2,
      pageSize: 20,
      sort: '-name',
      filters: [locked, mine],
    });
    expect(location.filters()).toEqual([mine]);

    // The parent's filter, dropped or changed by the user, stays as it was.
    location.navigate({ page: 1, pageSize: 20, filters: [] });
    expect(location.query().filters).toEqual([locked]);
    const other = { field: 'department', op: 'eq', value: '8' } as const;
    location.navigate({ page: 1, pageSize: 20, filters: [other] });
    expect(location.query().filters).toEqual([locked]);
  });

  it("leaves out the column every one of a panel's rows holds alike", () => {
    const columns = ['select', 'name', 'department', 'actions'];
    expect(locate({ field: 'department', id: 7 }).shown(columns)).toEqual([
      'select',
      'name',
      'actions',
    ]);
    TestBed.resetTestingModule();
    expect(locate().shown(columns)).toEqual(columns);
  });

  it("shows, in a panel's view, the parent's rows alone as they change", () => {
    const query: ListQuery = locate({ field: 'department', id: 7 }).query();
    const row = (department: number | null): Budget => ({ id: 1, name: 'Quay', department });
    expect(matchesView(row(7), query, FIELDS)).toBe(true);
    expect(matchesView(row(8), query, FIELDS)).toBe(false);
    expect(matchesView(row(null), query, FIELDS)).toBe(false);
  });

  it("keeps a routed list's view in the page's URL", async () => {
    const location = locate();
    const router = TestBed.inject(Router);
    expect(location.parent).toBeNull();
    location.navigate({
      page: 1,
      pageSize: 20,
      q: 'quay',
      filters: [{ field: 'department', op: 'eq', value: '7' }],
    });
    await vi.waitFor(() => expect(router.url).toBe('/?q=quay&department.eq=7'));
    expect(location.query()).toEqual({
      page: 1,
      pageSize: 20,
      q: 'quay',
      filters: [{ field: 'department', op: 'eq', value: '7' }],
    });
  });
});
