// The generated state manager of the example's suppliers, a feature without
// events: its page is read again after each change, its imports are polled.

import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { SupplierStateManager } from '../app/features/suppliers/state/suppliers-state.manager';
import { Supplier } from '../app/features/suppliers/types/suppliers.types';
import { ImportJob } from '../app/shared/business/models/aegis-protocol.types';
import { AEGIS_CONFIG } from '../app/shared/business/services/aegis-api';
import { importJobOf } from './testing';

const INITECH: Supplier = { id: 1, name: 'Initech', country: 'US', active: true, rating: 3 };
const HOOLI: Supplier = { id: 2, name: 'Hooli', country: 'US', active: false, rating: null };
const PAGE = '/api/suppliers?page=1&pageSize=20';

function job(state: ImportJob['state'], progress: number, successfulRows: number): ImportJob {
  return {
    jobId: 'job-1',
    state,
    dryRun: false,
    progress,
    processedRows: successfulRows,
    totalRows: 2,
    successfulRows,
    failedRows: 0,
    errors: [],
  };
}

describe('SupplierStateManager (generated, polled)', () => {
  let http: HttpTestingController;
  let state: SupplierStateManager;

  async function settle(): Promise<void> {
    await vi.waitFor(() => Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  function answerPage(data: Supplier[]): void {
    http.expectOne(PAGE).flush({ data, total: data.length, page: 1, pageSize: 20, seq: 0 });
  }

  beforeEach(async () => {
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        {
          provide: AEGIS_CONFIG,
          useValue: { apiBaseUrl: '/api', websocketUrl: '/ws', token: () => Promise.resolve('t') },
        },
        SupplierStateManager,
      ],
    });
    http = TestBed.inject(HttpTestingController);
    state = TestBed.inject(SupplierStateManager);
    const loading = state.load({ page: 1, pageSize: 20 });
    expect(state.loading()).toBe(true);
    answerPage([INITECH]);
    await loading;
  });

  afterEach(() => {
    vi.useRealTimers();
    http.verify();
  });

  it('loads a page, and drops the answer to a query overtaken by another', async () => {
    expect(state.items()).toEqual([INITECH]);
    expect(state.total()).toBe(1);
    expect(state.loading()).toBe(false);

    const older = state.load({ page: 2, pageSize: 20 });
    const newer = state.load({ page: 1, pageSize: 20 });
    const [olderRequest, newerRequest] = http.match((r) => r.url === '/api/suppliers');
    newerRequest.flush({ data: [HOOLI], total: 1, page: 1, pageSize: 20, seq: 0 });
    olderRequest.flush({ data: [INITECH], total: 21, page: 2, pageSize: 20, seq: 0 });
    await Promise.all([older, newer]);
    expect(state.items()).toEqual([HOOLI]);
    expect(state.total()).toBe(1);
  });

  it('reads the page again after it creates, saves or deletes', async () => {
    const creating = state.create({ name: 'Hooli', country: 'US', active: false, rating: null });
    http.expectOne({ method: 'POST', url: '/api/suppliers' }).flush(HOOLI);
    await expect(creating).resolves.toEqual(HOOLI);
    answerPage([INITECH, HOOLI]);
    await settle();
    expect(state.items()).toEqual([INITECH, HOOLI]);

    const saving = state.update(1, { name: 'Initrode' }, INITECH);
    const put = http.expectOne({ method: 'PUT', url: '/api/suppliers/1' });
    expect(put.request.body).toEqual({ name: 'Initrode', country: 'US', active: true, rating: 3 });
    put.flush({ ...INITECH, name: 'Initrode' });
    await saving;
    answerPage([{ ...INITECH, name: 'Initrode' }, HOOLI]);
    await settle();
    expect(state.items()[0].name).toBe('Initrode');

    const removing = state.remove(2);
    http
      .expectOne({ method: 'DELETE', url: '/api/suppliers/2' })
      .flush(null, { status: 204, statusText: 'No Content' });
    await removing;
    answerPage([{ ...INITECH, name: 'Initrode' }]);
    await settle();
    expect(state.total()).toBe(1);
  });

  it('shows a refused change as an error and keeps the page', async () => {
    const removing = state.remove(1);
    http
      .expectOne({ method: 'DELETE', url: '/api/suppliers/1' })
      .flush(
        { code: 'not_found', message: 'no supplier 1' },
        { status: 404, statusText: 'Not Found' },
      );
    await expect(removing).rejects.toBeTruthy();
    expect(state.items()).toEqual([INITECH]);
  });

  it('follows its import by polling the job, then reads the page again', async () => {
    vi.useFakeTimers();
    const file = new File(['name,country,active,rating\nHooli,US,no,\n'], 'suppliers.csv', {
      type: 'text/csv',
    });
    const starting = importJobOf(state).start(file, false);
    expect(importJobOf(state).status()).toBe('uploading');
    http
      .expectOne({ method: 'POST', url: '/api/suppliers/import?dryRun=false' })
      .flush({ jobId: 'job-1' });
    await starting;
    expect(importJobOf(state).status()).toBe('running');

    http.expectOne('/api/suppliers/import/job-1').flush(job('running', 50, 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(importJobOf(state).progress()).toBe(50);
    // Nothing more is asked before the interval has passed.
    http.expectNone('/api/suppliers/import/job-1');
    await vi.advanceTimersByTimeAsync(1_000);
    http.expectOne('/api/suppliers/import/job-1').flush(job('completed', 100, 2));
    await vi.advanceTimersByTimeAsync(0);
    expect(importJobOf(state).status()).toBe('completed');
    expect(importJobOf(state).result()?.successfulRows).toBe(2);
    answerPage([INITECH, HOOLI]);
    await vi.advanceTimersByTimeAsync(0);
    expect(state.total()).toBe(2);
  });

  it('says why it lost track of a job, and stops polling', async () => {
    vi.useFakeTimers();
    const file = new File(['name\n'], 'suppliers.csv', { type: 'text/csv' });
    const starting = importJobOf(state).start(file, true);
    http
      .expectOne({ method: 'POST', url: '/api/suppliers/import?dryRun=true' })
      .flush({ jobId: 'job-1' });
    await starting;
    http
      .expectOne('/api/suppliers/import/job-1')
      .flush(
        { code: 'not_found', message: 'no import job job-1' },
        { status: 404, statusText: 'Not Found' },
      );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(importJobOf(state).status()).toBe('failed');
    expect(importJobOf(state).failure()).toBe('no import job job-1');
    http.expectNone('/api/suppliers/import/job-1');
  });
});
