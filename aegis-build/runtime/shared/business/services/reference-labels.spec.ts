// Reference labels against the real HTTP client (with its testing backend)
// and a stand-in socket: reads gathered per task, and kept right against
// the feature's events however their answers interleave.

import { HttpTestingController, TestRequest } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EventMessage, JsonObject } from '../models/aegis-protocol.types';
import { LABEL_READ_BATCH, ReferenceLabels, ReferenceTarget } from './reference-labels';
import { FakeWebSocketService, httpTestingProviders } from './testing';

const DEPARTMENTS: ReferenceTarget = {
  feature: 'departments',
  idField: 'id',
  labelField: 'name',
  live: true,
};

function renamed(id: number, name: string, seq: number): EventMessage {
  return {
    feature: 'departments',
    entity: 'department',
    action: 'updated',
    data: { id, name, version: 2 },
    meta: {
      timestamp: '2026-01-01T00:00:00Z',
      featureVersion: 'v1',
      seq,
      userId: 'u2',
      origin: null,
    },
  };
}

describe('ReferenceLabels', () => {
  let http: HttpTestingController;
  let socket: FakeWebSocketService;
  let labels: ReferenceLabels;

  beforeEach(() => {
    TestBed.configureTestingModule({ providers: httpTestingProviders() });
    http = TestBed.inject(HttpTestingController);
    socket = TestBed.inject(FakeWebSocketService);
    labels = TestBed.inject(ReferenceLabels);
  });

  afterEach(() => http.verify());

  /** The one label read waiting, once the current task has ended. */
  async function nextRead(): Promise<TestRequest> {
    await Promise.resolve();
    return http.expectOne((request) => request.url === '/api/departments');
  }

  function answer(request: TestRequest, rows: JsonObject[], seq: number): Promise<void> {
    request.flush({ data: rows, total: rows.length, page: 1, pageSize: rows.length, seq });
    return Promise.resolve();
  }

  it('reads the labels a page asks for in one request, filtered by id', async () => {
    const sales = labels.label(DEPARTMENTS, 1);
    const legal = labels.label(DEPARTMENTS, 2);
    const gone = labels.label(DEPARTMENTS, 3);
    expect(labels.label(DEPARTMENTS, 1)()).toBeNull();
    const read = await nextRead();
    expect(read.request.params.get('id.in')).toBe('1,2,3');
    expect(read.request.params.get('pageSize')).toBe('3');
    await answer(
      read,
      [
        { id: 1, name: 'Sales' },
        { id: 2, name: 'Legal' },
      ],
      5,
    );
    expect([sales(), legal(), gone()]).toEqual(['Sales', 'Legal', null]);
    // Read once: asking again costs nothing.
    labels.label(DEPARTMENTS, 1);
    await Promise.resolve();
    http.expectNone(() => true);
  });

  it(`reads more than ${LABEL_READ_BATCH} labels in requests of at most that many`, async () => {
    for (let id = 1; id <= LABEL_READ_BATCH + 1; id++) {
      labels.label(DEPARTMENTS, id);
    }
    await Promise.resolve();
    const reads = http.match(() => true);
    expect(reads.map((read) => read.request.params.get('id.in')?.split(',').length)).toEqual([
      LABEL_READ_BATCH,
      1,
    ]);
    for (const read of reads) {
      read.flush({ data: [], total: 0, page: 1, pageSize: 1, seq: 1 });
    }
  });

  it('reads again a label read before the subscription went live, at an older seq', async () => {
    const sales = labels.label(DEPARTMENTS, 1);
    await answer(await nextRead(), [{ id: 1, name: 'Sales' }], 4);
    // Renamed at seq 5, before the subscription went live at 5: no event comes.
    socket.subscribers.get('departments')?.onSubscribed(5, false);
    const again = await nextRead();
    expect(again.request.params.get('id.in')).toBe('1');
    await answer(again, [{ id: 1, name: 'Sales & Marketing' }], 5);
    expect(sales()).toBe('Sales & Marketing');
    // The same when the read lands after the subscription answered.
    const legal = labels.label(DEPARTMENTS, 2);
    const late = await nextRead();
    await answer(late, [{ id: 2, name: 'Legal' }], 4);
    const retry = await nextRead();
    await answer(retry, [{ id: 2, name: 'Legal & Compliance' }], 6);
    expect(legal()).toBe('Legal & Compliance');
  });

  it('does not read again what was read at or after the subscription went live', async () => {
    labels.label(DEPARTMENTS, 1);
    const read = await nextRead();
    socket.subscribers.get('departments')?.onSubscribed(5, false);
    await answer(read, [{ id: 1, name: 'Sales' }], 5);
    await Promise.resolve();
    http.expectNone(() => true);
    // Nor when the read landed first, at the subscription's seq.
    labels.label(DEPARTMENTS, 2);
    await answer(await nextRead(), [{ id: 2, name: 'Legal' }], 6);
    await Promise.resolve();
    http.expectNone(() => true);
  });

  it('keeps an event newer than a read that lands after it', async () => {
    const sales = labels.label(DEPARTMENTS, 1);
    const read = await nextRead();
    const subscriber = socket.subscribers.get('departments');
    subscriber?.onSubscribed(3, false);
    subscriber?.onEvent(renamed(1, 'Revenue', 4));
    expect(sales()).toBe('Revenue');
    // The read's snapshot was taken at seq 3, before the rename.
    await answer(read, [{ id: 1, name: 'Sales' }], 3);
    expect(sales()).toBe('Revenue');
  });

  it('reads every label again, together, after events were missed', async () => {
    const sales = labels.label(DEPARTMENTS, 1);
    labels.label(DEPARTMENTS, 2);
    const subscriber = socket.subscribers.get('departments');
    subscriber?.onSubscribed(1, false);
    await answer(
      await nextRead(),
      [
        { id: 1, name: 'Sales' },
        { id: 2, name: 'Legal' },
      ],
      1,
    );
    // Back after a gap the server could not replay.
    subscriber?.onSubscribed(9, false);
    const again = await nextRead();
    expect(again.request.params.get('id.in')).toBe('1,2');
    await answer(
      again,
      [
        { id: 1, name: 'Revenue' },
        { id: 2, name: 'Legal' },
      ],
      9,
    );
    expect(sales()).toBe('Revenue');
    // A replayed reconnection reads nothing.
    subscriber?.onSubscribed(12, true);
    await Promise.resolve();
    http.expectNone(() => true);
  });

  it('forgets a held label once no use holds it, and keeps one shown again in the same task', async () => {
    const first = labels.hold(DEPARTMENTS, 1);
    await answer(await nextRead(), [{ id: 1, name: 'Sales' }], 3);
    expect(first.label()).toBe('Sales');
    // A row rendered again: let go and held in one task keeps the label, unread.
    first.release();
    const again = labels.hold(DEPARTMENTS, 1);
    await Promise.resolve();
    http.expectNone(() => true);
    expect(again.label()).toBe('Sales');
    // Let go for good: the next use reads it again.
    again.release();
    again.release();
    await Promise.resolve();
    const later = labels.hold(DEPARTMENTS, 1);
    expect(later.label()).toBeNull();
    await answer(await nextRead(), [{ id: 1, name: 'Sales' }], 4);
    expect(later.label()).toBe('Sales');
  });
});
