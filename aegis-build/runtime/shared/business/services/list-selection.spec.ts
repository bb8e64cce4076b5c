import { signal } from '@angular/core';
import { describe, expect, it } from 'vitest';

import { ListSelection } from './list-selection';

interface Row {
  readonly id: number;
}

describe('ListSelection', () => {
  function setUp(): {
    rows: ReturnType<typeof signal<readonly Row[]>>;
    view: ReturnType<typeof signal<string>>;
    selection: ListSelection<Row, number>;
  } {
    const rows = signal<readonly Row[]>([{ id: 1 }, { id: 2 }]);
    const view = signal('page=1');
    return { rows, view, selection: new ListSelection(rows, view, { idOf: (row: Row) => row.id }) };
  }

  it('chooses rows one by one, then the whole page, then none', () => {
    const { selection } = setUp();
    expect(selection.any()).toBe(false);
    selection.toggle({ id: 1 });
    expect([...selection.selected()]).toEqual([1]);
    expect(selection.allOnPage()).toBe(false);
    selection.toggleAll();
    expect(selection.allOnPage()).toBe(true);
    selection.toggleAll();
    expect(selection.any()).toBe(false);
  });

  it('chooses every row of the view, and a row toggled after leaves that', () => {
    const { selection } = setUp();
    selection.toggleAll();
    selection.chooseAllMatching();
    expect(selection.has({ id: 99 })).toBe(true);
    selection.toggle({ id: 1 });
    expect(selection.allMatching()).toBe(false);
    expect([...selection.selected()]).toEqual([2]);
  });

  it('starts a new view with nothing chosen', () => {
    const { selection, view } = setUp();
    selection.toggle({ id: 2 });
    selection.chooseAllMatching();
    view.set('page=2');
    expect(selection.any()).toBe(false);
    expect(selection.has({ id: 2 })).toBe(false);
  });
});
