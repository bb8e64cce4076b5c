import { describe, expect, it, vi } from 'vitest';

import { ImportAccepted, ImportJob } from '../models/aegis-protocol.types';
import { ImportTracker } from './import-tracker';
import { deferred } from './testing';

describe('ImportTracker', () => {
  it('does not follow a job whose upload is answered after a reset (its list closed)', async () => {
    const upload = deferred<ImportAccepted>();
    const importStatus = vi.fn((): Promise<ImportJob> => Promise.reject(new Error('not asked')));
    const tracker = new ImportTracker(
      { importCsv: () => upload.promise, importStatus },
      { pollIntervalMs: 10 },
    );
    const starting = tracker.start(new File(['name\n'], 'budgets.csv'), false);
    expect(tracker.status()).toBe('uploading');
    tracker.reset();
    upload.resolve({ jobId: 'job-1' });
    expect(await starting).toBe('job-1');
    expect(tracker.jobId()).toBeNull();
    expect(tracker.status()).toBe('idle');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(importStatus).not.toHaveBeenCalled();
  });
});
