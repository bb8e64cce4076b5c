// The generated state manager of the example's budgets, against the real
// HTTP client (with its testing backend) and a stand-in socket.

import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { BudgetStateManager } from '../app/features/budgets/state/budgets-state.manager';
import { Budget } from '../app/features/budgets/types/budgets.types';
import { EventMessage, JsonObject } from '../app/shared/business/models/aegis-protocol.types';
import { FakeWebSocketService, httpTestingProviders, importJobOf } from './testing';

const Q1: Budget = {
  id: 1,
  name: 'Q1',
  amount: 10,
  fiscal_year: 2026,
  status: 'draft',
  version: 1,
  department: null,
  created_at: null,
  updated_by: null,
  tags: [],
  contract: null,
};

function budgetEvent(
  action: EventMessage['action'],
  data: JsonObject,
  seq: number,
  origin: string | null = null,
): EventMessage {
  return {
    feature: 'budgets',
    entity: 'budget',
    action,
    data,
    meta: { timestamp: '2026-01-01T00:00:00Z', featureVersion: 'v1', seq, userId: 'u2', origin },
  };
}

describe('BudgetStateManager (generated)', () => {
  let http: HttpTestingController;
  let state: BudgetStateManager;

  async function settle(): Promise<void> {
    await vi.waitFor(() => Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  beforeEach(async () => {
    TestBed.configureTestingModule({ providers: [...httpTestingProviders(), BudgetStateManager] });
    http = TestBed.inject(HttpTestingController);
    state = TestBed.inject(BudgetStateManager);
    const loading = state.load({ page: 1, pageSize: 20, sort: '-amount', q: 'q' });
    const request = http.expectOne('/api/budgets?page=1&pageSize=20&sort=-amount&q=q');
    expect(request.request.method).toBe('GET');
    request.flush({ data: [Q1], total: 1, page: 1, pageSize: 20, seq: 7 });
    await loading;
  });

  afterEach(() => http.verify());

  it('loads through the generated service', () => {
    expect(state.items()).toEqual([Q1]);
    expect(state.lastSeq()).toBe(7);
    expect(TestBed.inject(FakeWebSocketService).subscribers.get('budgets')).toBe(state);
  });

  it('creates with a mutation id, and ignores the echo of its own event', async () => {
    const creating = state.create({
      name: 'Q2',
      amount: 5,
      fiscal_year: 2026,
      status: 'submitted',
    });
    const request = http.expectOne('/api/budgets');
    expect(request.request.method).toBe('POST');
    const mutationId = request.request.headers.get('x-aegis-mutation-id');
    expect(mutationId).toMatch(/^[0-9a-f-]{36}$/);
    const saved: Budget = {
      id: 2,
      name: 'Q2',
      amount: 5,
      fiscal_year: 2026,
      status: 'submitted',
      version: 1,
      department: null,
      created_at: null,
      updated_by: null,
      tags: [],
      contract: null,
    };
    request.flush(saved);
    await creating;
    state.onEvent(budgetEvent('created', { ...saved, contract: null }, 8, mutationId));
    expect(state.items()).toEqual([Q1, saved]);
    expect(state.total()).toBe(2);
  });

  it('saves optimistically, sends every field with the version, and rolls back a 409 into a conflict', async () => {
    const saving = state.update(1, { amount: 99 });
    expect(state.items()[0].amount).toBe(99);
    const request = http.expectOne('/api/budgets/1');
    expect(request.request.method).toBe('PUT');
    expect(request.request.body).toEqual({
      name: 'Q1',
      amount: 99,
      fiscal_year: 2026,
      status: 'draft',
      department: null,
      tags: [],
      contract: null,
      version: 1,
    });
    const current: Budget = { ...Q1, amount: 12, version: 2 };
    request.flush(
      { code: 'conflict', message: 'stale', current },
      { status: 409, statusText: 'Conflict' },
    );
    await expect(saving).rejects.toBeTruthy();
    expect(state.items()[0]).toBe(Q1);
    expect(state.conflicts()).toEqual([{ id: 1, mine: { ...Q1, amount: 99 }, theirs: current }]);
  });

  it('follows its import through events, without polling', async () => {
    const file = new File(['name,amount,fiscal_year,status\nA,1,2026,draft\n'], 'budgets.csv', {
      type: 'text/csv',
    });
    const starting = importJobOf(state).start(file, false);
    expect(importJobOf(state).status()).toBe('uploading');
    const upload = http.expectOne('/api/budgets/import?dryRun=false');
    expect(upload.request.method).toBe('POST');
    expect(upload.request.headers.get('Content-Type')).toBe('text/csv');
    upload.flush({ jobId: 'job-1' });
    await starting;
    expect(importJobOf(state).status()).toBe('running');

    // Another tab's job is not ours.
    state.onEvent(
      budgetEvent(
        'import_progress',
        {
          jobId: 'job-9',
          progress: 80,
          processedRows: 8,
          totalRows: 10,
          successfulRows: 8,
          failedRows: 0,
          dryRun: false,
        },
        8,
      ),
    );
    expect(importJobOf(state).progress()).toBe(0);
    state.onEvent(
      budgetEvent(
        'import_progress',
        {
          jobId: 'job-1',
          progress: 50,
          processedRows: 1,
          totalRows: 2,
          successfulRows: 1,
          failedRows: 0,
          dryRun: false,
        },
        9,
      ),
    );
    expect(importJobOf(state).progress()).toBe(50);
    const completed = {
      jobId: 'job-1',
      success: true,
      dryRun: false,
      totalRows: 2,
      successfulRows: 2,
      failedRows: 0,
      errors: [],
    };
    state.onEvent(budgetEvent('import_completed', completed, 10));
    expect(importJobOf(state).status()).toBe('completed');
    expect(importJobOf(state).progress()).toBe(100);
    expect(importJobOf(state).result()).toEqual(completed);
    // Rows were imported: the list reloads.
    await settle();
    http
      .expectOne('/api/budgets?page=1&pageSize=20&sort=-amount&q=q')
      .flush({ data: [Q1], total: 3, page: 1, pageSize: 20, seq: 10 });
    await settle();
    expect(state.total()).toBe(3);
  });

  it("shows every tab's running imports, and how they ended; dry runs neither show nor reload", async () => {
    const progress = (jobId: string, percent: number, dryRun: boolean): JsonObject => ({
      jobId,
      progress: percent,
      processedRows: percent,
      totalRows: 100,
      successfulRows: percent,
      failedRows: 0,
      dryRun,
    });
    state.onEvent(
      budgetEvent('import_started', { jobId: 'other', totalRows: 100, dryRun: false }, 8),
    );
    state.onEvent(
      budgetEvent('import_started', { jobId: 'check', totalRows: 100, dryRun: true }, 9),
    );
    state.onEvent(budgetEvent('import_progress', progress('other', 40, false), 10));
    state.onEvent(budgetEvent('import_progress', progress('check', 40, true), 11));
    expect(state.imports()).toEqual([
      { jobId: 'other', progress: 40, processedRows: 40, totalRows: 100 },
    ]);
    const done = (jobId: string, dryRun: boolean): JsonObject => ({
      jobId,
      success: true,
      dryRun,
      totalRows: 100,
      successfulRows: 100,
      failedRows: 0,
      errors: [],
    });
    state.onEvent(budgetEvent('import_completed', done('check', true), 12));
    await settle();
    http.expectNone('/api/budgets?page=1&pageSize=20&sort=-amount&q=q');
    expect(state.finishedImport()).toBeNull();
    state.onEvent(budgetEvent('import_completed', done('other', false), 13));
    expect(state.imports()).toEqual([]);
    expect(state.finishedImport()?.jobId).toBe('other');
    await settle();
    http
      .expectOne('/api/budgets?page=1&pageSize=20&sort=-amount&q=q')
      .flush({ data: [Q1], total: 101, page: 1, pageSize: 20, seq: 13 });
  });

  it('recovers its job from the status endpoint after a resync, and says when it failed', async () => {
    const file = new File(['name\n'], 'budgets.csv', { type: 'text/csv' });
    const starting = importJobOf(state).start(file, false);
    http.expectOne('/api/budgets/import?dryRun=false').flush({ jobId: 'job-2' });
    await starting;
    state.onResync('gap');
    http
      .expectOne('/api/budgets?page=1&pageSize=20&sort=-amount&q=q')
      .flush({ data: [Q1], total: 1, page: 1, pageSize: 20, seq: 30 });
    await settle();
    http.expectOne('/api/budgets/import/job-2').flush({
      jobId: 'job-2',
      state: 'failed',
      dryRun: false,
      progress: 100,
      processedRows: 3,
      totalRows: 5,
      successfulRows: 3,
      failedRows: 2,
      errors: [{ row: 3, field: null, message: 'the import stopped: the server went away' }],
    });
    await settle();
    expect(importJobOf(state).status()).toBe('failed');
    expect(importJobOf(state).result()?.errors.at(-1)?.message).toContain('server went away');
  });
});
