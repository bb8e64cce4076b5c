// A row's history against the real HTTP client on its testing backend:
// what it reads and shows, page by page, and what a restore sends, emits
// and says when the server refuses it.

import { formatDate } from '@angular/common';
import { Component, signal } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { HttpTestingController, TestRequest } from '@angular/common/http/testing';
import axe from 'axe-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { HistoryEntry, HistoryPage, StoredFile } from '../business/models/aegis-protocol.types';
import { hasId } from '../business/services/feature-state';
import { httpTestingProviders } from '../business/services/testing';
import { FieldLabels, RowHistoryComponent, historyValue } from './row-history';

const HISTORY_URL = '/api/budgets/7/history';

interface Budget {
  id: number;
  name: string;
  amount: number | null;
  version: number;
}

const LABELS: FieldLabels = {
  name: { label: 'Name' },
  amount: { label: 'Amount' },
  contract: { label: 'Contract' },
  approved: { label: 'Approved' },
};

const REPORT: StoredFile = {
  id: 'a'.repeat(64),
  name: 'report.pdf',
  size: 1_200,
  contentType: 'application/pdf',
};

const CREATED: HistoryEntry = {
  id: 11,
  action: 'created',
  version: 1,
  userId: 'ann',
  at: '2026-03-01T09:00:00Z',
  changes: [
    { field: 'name', old: null, new: 'Q1' },
    { field: 'amount', old: null, new: 5 },
    { field: 'approved', old: null, new: false },
  ],
};

const CHANGED: HistoryEntry = {
  id: 12,
  action: 'updated',
  version: 2,
  userId: 'bob',
  at: '2026-03-02T10:30:00Z',
  changes: [
    { field: 'name', old: 'Q1', new: 'Q1 draft' },
    { field: 'amount', old: 5, new: null },
    { field: 'contract', old: null, new: { ...REPORT } },
    { field: 'note', old: 'a', new: 'b' },
  ],
};

const RESTORED: HistoryEntry = {
  id: 13,
  action: 'updated',
  version: 3,
  userId: 'ann',
  at: '2026-03-03T08:00:00Z',
  changes: [
    { field: 'name', old: 'Q1 draft', new: 'Q1' },
    { field: 'amount', old: null, new: 5 },
  ],
  restores: 11,
};

const SAVED: Budget = { id: 7, name: 'Q1', amount: 5, version: 5 };

@Component({
  imports: [RowHistoryComponent],
  template: `
    <aegis-row-history
      feature="budgets"
      [rowId]="7"
      [labels]="labels"
      [version]="version()"
      [revision]="revision()"
      [isRow]="isBudget"
      (restored)="restored.push($event)"
    />
  `,
})
class HostComponent {
  readonly labels = LABELS;
  readonly version = signal<number | null>(4);
  readonly revision = signal(0);
  readonly restored: Budget[] = [];
  readonly isBudget = (value: unknown): value is Budget => hasId(value, 'id', 'number');
}

function historyPage(data: HistoryEntry[], page = 1, total = data.length): HistoryPage {
  return { data, total, page, pageSize: 20 };
}

describe('historyValue', () => {
  it('shows each kind of value as a person reads it', () => {
    expect(historyValue(null)).toBe('—');
    expect(historyValue(undefined)).toBe('—');
    expect(historyValue('Q1')).toBe('Q1');
    expect(historyValue(12.5)).toBe('12.5');
    expect(historyValue(true)).toBe('Yes');
    expect(historyValue(false)).toBe('No');
    expect(historyValue([1, 2, 3])).toBe('1, 2, 3');
    expect(historyValue([])).toBe('—');
    expect(historyValue({ ...REPORT })).toBe('report.pdf');
    expect(historyValue({ name: 'not a file', size: 3 })).toBe('{"name":"not a file","size":3}');
  });
});

describe('RowHistoryComponent', () => {
  let http: HttpTestingController;
  let fixture: ComponentFixture<HostComponent>;
  let host: HostComponent;
  let element: HTMLElement;

  beforeEach(() => {
    TestBed.configureTestingModule({ providers: httpTestingProviders() });
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(HostComponent);
    host = fixture.componentInstance;
    element = fixture.nativeElement as HTMLElement;
    fixture.detectChanges();
  });

  afterEach(() => http.verify());

  const render = (): void => fixture.detectChanges();

  /** The request for a page of the history, which must be the only one. */
  function historyRequest(page: number): TestRequest {
    const request = http.expectOne((r) => r.url === HISTORY_URL && r.method === 'GET');
    expect(request.request.params.get('page')).toBe(String(page));
    expect(request.request.params.get('pageSize')).toBe('20');
    return request;
  }

  function answer(page: HistoryPage): void {
    historyRequest(page.page).flush(page);
    render();
  }

  function entries(): HTMLElement[] {
    return Array.from(element.querySelectorAll<HTMLElement>('ol.timeline > li'));
  }

  /** An entry's changes, one line per field: `Label: before → after`. */
  function changes(entry: HTMLElement): string[] {
    const terms = Array.from(entry.querySelectorAll('dt'));
    return terms.map((term) => {
      const detail = term.nextElementSibling;
      const part = (name: string): string | null =>
        detail?.querySelector(`.${name}`)?.textContent?.trim() ?? null;
      const shown = [part('before'), part('after')].filter((text) => text !== null);
      return `${term.textContent?.trim()}: ${shown.join(' → ')}`;
    });
  }

  function heading(entry: HTMLElement): string {
    return entry.querySelector('.action')?.textContent?.trim() ?? '';
  }

  function buttonsNamed(name: string): HTMLButtonElement[] {
    return Array.from(element.querySelectorAll('button')).filter(
      (button) => button.textContent?.trim() === name,
    );
  }

  function alerts(): string[] {
    return Array.from(element.querySelectorAll('[role="alert"]')).map(
      (alert) => alert.textContent?.trim() ?? '',
    );
  }

  const time = (at: string): string => formatDate(at, 'medium', 'en-US');

  it('shows a progress bar while it reads, then each entry: what, who, when and the fields', () => {
    expect(element.querySelector('mat-progress-bar')?.getAttribute('aria-label')).toBe(
      'Loading the history',
    );
    answer(historyPage([RESTORED, CHANGED, CREATED]));
    expect(element.querySelector('mat-progress-bar')).toBeNull();
    const [restored, changed, created] = entries();
    expect(entries().length).toBe(3);

    expect(heading(changed)).toBe('Changed');
    expect(changed.querySelector('.who')?.textContent?.trim()).toBe('by bob');
    const when = changed.querySelector('time');
    expect(when?.getAttribute('title')).toBe(CHANGED.at);
    expect(when?.getAttribute('datetime')).toBe(CHANGED.at);
    expect(when?.textContent?.trim()).toBe(time(CHANGED.at));
    // Labels, old → new, nothing as "—", a file as its name, an unknown field as its name.
    expect(changes(changed)).toEqual([
      'Name: Q1 → Q1 draft',
      'Amount: 5 → —',
      'Contract: — → report.pdf',
      'note: a → b',
    ]);

    // A create had nothing before: only the new values.
    expect(heading(created)).toBe('Created');
    expect(changes(created)).toEqual(['Name: Q1', 'Amount: 5', 'Approved: No']);
    expect(created.querySelector('.arrow')).toBeNull();
    // Read aloud, the arrow is a word between the two values.
    const amount = changed.querySelectorAll('dd')[1];
    expect(amount.querySelector('.arrow')?.getAttribute('aria-hidden')).toBe('true');
    expect(amount.querySelector('.visually-hidden')?.textContent).toBe(' to ');

    expect(heading(restored)).toBe(`Restored version from ${time(CREATED.at)}`);
  });

  it('shows a deletion’s old values, and offers no restore of it', () => {
    const deleted: HistoryEntry = {
      id: 14,
      action: 'deleted',
      version: 3,
      userId: 'bob',
      at: '2026-03-04T08:00:00Z',
      changes: [{ field: 'name', old: 'Q1', new: null }],
    };
    answer(historyPage([RESTORED, deleted, CREATED]));
    const shown = entries()[1];
    expect(heading(shown)).toBe('Deleted');
    expect(changes(shown)).toEqual(['Name: Q1']);
    expect(shown.querySelector('button')).toBeNull();
  });

  it('says that a change was made while the row was someone else’s, and offers no restore of it', () => {
    const withheld: HistoryEntry = { ...CHANGED, changes: [], withheld: true };
    answer(historyPage([RESTORED, withheld, CREATED]));
    const shown = entries()[1];
    expect(heading(shown)).toBe('Changed');
    expect(changes(shown)).toEqual([]);
    expect(shown.querySelector('.withheld')?.textContent?.trim()).toBe(
      "What it changed was someone else's to see.",
    );
    expect(shown.querySelector('button')).toBeNull();
  });

  it('says when a restored version is not among the entries loaded', () => {
    answer(historyPage([{ ...RESTORED, restores: 2 }, CHANGED], 1, 30));
    expect(heading(entries()[0])).toBe('Restored an earlier version');
  });

  it('offers "Restore this version" on every earlier create and update, never the newest', () => {
    answer(historyPage([RESTORED, CHANGED, CREATED]));
    const [newest, changed, created] = entries();
    expect(newest.querySelector('button')).toBeNull();
    expect(changed.querySelector('button')?.textContent?.trim()).toBe('Restore this version');
    expect(created.querySelector('button')?.textContent?.trim()).toBe('Restore this version');
    // Which version it restores is the entry's heading, for a screen reader.
    const head = changed.querySelector('.head');
    expect(changed.querySelector('button')?.getAttribute('aria-describedby')).toBe(head?.id);
  });

  it('says so when the row has no history', () => {
    answer(historyPage([]));
    expect(entries()).toEqual([]);
    expect(element.querySelector('.empty')?.textContent?.trim()).toBe('No changes recorded yet.');
    expect(buttonsNamed('Show older')).toEqual([]);
  });

  it('reads older pages on "Show older", after the ones shown, until there are none', () => {
    const newest = Array.from({ length: 20 }, (_, i) => ({ ...CHANGED, id: 40 - i }));
    answer(historyPage(newest, 1, 21));
    expect(entries().length).toBe(20);
    const [older] = buttonsNamed('Show older');
    older.click();
    render();
    expect(older.disabled).toBe(true);
    // An entry made since page 1 shifts page 2 by one: shown once all the same.
    answer(historyPage([newest[19], CREATED], 2, 22));
    expect(entries().length).toBe(21);
    expect(heading(entries()[20])).toBe('Created');
    // 2 pages of 20 hold the 22 entries: no older ones.
    expect(buttonsNamed('Show older')).toEqual([]);
  });

  it('reads the history again when its revision changes', () => {
    answer(historyPage([CHANGED, CREATED]));
    host.revision.set(1);
    render();
    answer(historyPage([RESTORED, CHANGED, CREATED]));
    expect(entries().length).toBe(3);
    expect(heading(entries()[0])).toBe(`Restored version from ${time(CREATED.at)}`);
  });

  it('restores an entry based on the version it has, emits the row saved, and reads again', () => {
    answer(historyPage([CHANGED, CREATED]));
    const [restore] = buttonsNamed('Restore this version');
    restore.click();
    render();
    const request = http.expectOne(`${HISTORY_URL}/11/restore`);
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toEqual({ version: 4 });
    expect(buttonsNamed('Restoring…').length).toBe(1);
    expect(buttonsNamed('Restoring…')[0].disabled).toBe(true);

    request.flush(SAVED);
    render();
    expect(host.restored).toEqual([SAVED]);
    answer(historyPage([RESTORED, CHANGED, CREATED]));
    expect(entries().length).toBe(3);
    expect(alerts()).toEqual([]);
  });

  it('sends no version when the module has none', () => {
    host.version.set(null);
    render();
    answer(historyPage([CHANGED, CREATED]));
    buttonsNamed('Restore this version')[0].click();
    const request = http.expectOne(`${HISTORY_URL}/11/restore`);
    expect(request.request.body).toEqual({});
    request.flush(SAVED);
    historyRequest(1).flush(historyPage([RESTORED, CHANGED, CREATED]));
  });

  it('shows a conflict’s message, emits nothing, and reads the history again', () => {
    answer(historyPage([CHANGED, CREATED]));
    buttonsNamed('Restore this version')[0].click();
    const message = 'This budget was changed by someone else; reload it and try again';
    http
      .expectOne(`${HISTORY_URL}/11/restore`)
      .flush(
        { code: 'conflict', message, current: { ...SAVED, version: 6 } },
        { status: 409, statusText: 'Conflict' },
      );
    render();
    expect(alerts()).toEqual([message]);
    expect(host.restored).toEqual([]);
    expect(buttonsNamed('Restore this version').every((button) => !button.disabled)).toBe(true);
    answer(historyPage([RESTORED, CHANGED, CREATED]));
    expect(alerts()).toEqual([message]);
    // Once the dialog holds their version, the refusal is old news.
    host.version.set(6);
    render();
    expect(alerts()).toEqual([]);
  });

  it('shows why old values no longer pass the rules, and emits nothing', () => {
    answer(historyPage([CHANGED, CREATED]));
    buttonsNamed('Restore this version')[0].click();
    const message = 'Amount must be at least 10';
    http
      .expectOne(`${HISTORY_URL}/11/restore`)
      .flush(
        { code: 'validation', message, fields: [{ field: 'amount', message }] },
        { status: 422, statusText: 'Unprocessable Entity' },
      );
    render();
    expect(alerts()).toEqual([message]);
    expect(host.restored).toEqual([]);
  });

  it('says why the history could not be read, and reads it again on "Try again"', () => {
    historyRequest(1).flush(
      { code: 'forbidden', message: 'You may not read this budget’s history' },
      { status: 403, statusText: 'Forbidden' },
    );
    render();
    expect(alerts()).toEqual(['You may not read this budget’s history']);
    expect(element.querySelector('.empty')).toBeNull();
    buttonsNamed('Try again')[0].click();
    render();
    answer(historyPage([CREATED]));
    expect(alerts()).toEqual([]);
    expect(entries().length).toBe(1);
  });

  it('has no accessibility violation axe can see without a layout, in any state', async () => {
    const violations = async (): Promise<string[]> => {
      render();
      const results = await axe.run(element, { rules: { 'color-contrast': { enabled: false } } });
      return results.violations.map((v) => `${v.id}: ${v.help}`);
    };
    expect(await violations()).toEqual([]);
    answer(historyPage([RESTORED, CHANGED, CREATED], 1, 30));
    expect(await violations()).toEqual([]);
    buttonsNamed('Restore this version')[0].click();
    http
      .expectOne(`${HISTORY_URL}/12/restore`)
      .flush({ code: 'conflict', message: 'stale' }, { status: 409, statusText: 'Conflict' });
    answer(historyPage([]));
    expect(await violations()).toEqual([]);
  });
});
