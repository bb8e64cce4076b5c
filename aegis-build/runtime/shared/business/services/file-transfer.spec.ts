// The file transfer against the real HTTP client on its testing backend:
// what goes over the wire for an upload and a download, and the helpers
// the file widgets show sizes and previews with.

import {
  HttpErrorResponse,
  HttpEventType,
  provideHttpClient,
  withInterceptors,
} from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { StoredFile } from '../models/aegis-protocol.types';
import { AEGIS_CONFIG, aegisAuthInterceptor, apiErrorMessage } from './aegis-api';
import { FileTransfer, FileUpload, formatBytes, isImage } from './file-transfer';
import { fakeObjectUrls, httpTestingProviders } from './testing';

const REPORT: StoredFile = {
  id: 'a'.repeat(64),
  name: 'Q1 report+final.pdf',
  size: 10,
  contentType: 'application/pdf',
};

describe('FileTransfer', () => {
  let http: HttpTestingController;
  let transfer: FileTransfer;

  beforeEach(() => {
    TestBed.configureTestingModule({ providers: httpTestingProviders() });
    http = TestBed.inject(HttpTestingController);
    transfer = TestBed.inject(FileTransfer);
  });

  afterEach(() => http.verify());

  it('posts the bytes themselves, named in the query, and reports progress then the stored file', () => {
    const file = new File(['%PDF-1.7 x'], REPORT.name, { type: 'application/pdf' });
    const seen: FileUpload[] = [];
    let completed = false;
    transfer.upload('budgets', 'attachment', file).subscribe({
      next: (event) => seen.push(event),
      complete: () => (completed = true),
    });
    // `+` encoded: left as is, the server would read a space.
    const request = http.expectOne('/api/budgets/files/attachment?name=Q1%20report%2Bfinal.pdf');
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toBe(file);
    expect(request.request.headers.get('Content-Type')).toBe('application/pdf');
    expect(request.request.reportProgress).toBe(true);
    request.event({ type: HttpEventType.UploadProgress, loaded: 4, total: 10 });
    request.event({ type: HttpEventType.UploadProgress, loaded: 10 });
    request.flush(REPORT, { status: 201, statusText: 'Created' });
    expect(seen).toEqual([
      { kind: 'progress', loaded: 4, total: 10 },
      // No length from the browser: the file's own.
      { kind: 'progress', loaded: 10, total: 10 },
      { kind: 'done', file: REPORT },
    ]);
    expect(completed).toBe(true);
  });

  it('sends a file of no known type as bytes, for the server to tell', () => {
    transfer.upload('budgets', 'attachment', new File(['x'], 'notes')).subscribe();
    const request = http.expectOne('/api/budgets/files/attachment?name=notes');
    expect(request.request.headers.get('Content-Type')).toBe('application/octet-stream');
    request.flush({ ...REPORT, name: 'notes' }, { status: 201, statusText: 'Created' });
  });

  it('fails with the server’s refusal, and aborts when unsubscribed', () => {
    let failure: unknown = null;
    transfer
      .upload('budgets', 'attachment', new File(['x'], 'a.png'))
      .subscribe({ error: (error: unknown) => (failure = error) });
    const message = 'This file is a PNG image (image/png); the field takes application/pdf';
    http
      .expectOne('/api/budgets/files/attachment?name=a.png')
      .flush({ code: 'unprocessable', message }, { status: 422, statusText: 'Unprocessable' });
    expect(failure).toBeInstanceOf(HttpErrorResponse);
    expect(apiErrorMessage(failure)).toBe(message);

    const upload = transfer.upload('budgets', 'attachment', new File(['x'], 'b.pdf')).subscribe();
    const request = http.expectOne('/api/budgets/files/attachment?name=b.pdf');
    upload.unsubscribe();
    expect(request.cancelled).toBe(true);
  });

  it('downloads a row’s file as a blob, the row’s id encoded', () => {
    let got: Blob | null = null;
    transfer.download('budgets', 'q1/2026', 'attachment').subscribe((blob) => (got = blob));
    const request = http.expectOne('/api/budgets/q1%2F2026/files/attachment');
    expect(request.request.method).toBe('GET');
    expect(request.request.responseType).toBe('blob');
    const bytes = new Blob(['%PDF'], { type: 'application/pdf' });
    request.flush(bytes);
    expect(got).toBe(bytes);
  });

  it('saves a row’s file under its name', async () => {
    const urls = fakeObjectUrls();
    const clicked: { href: string; download: string }[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push({ href: this.href, download: this.download });
    });
    try {
      const saving = transfer.save('budgets', 7, 'attachment', REPORT);
      const bytes = new Blob(['%PDF']);
      http.expectOne('/api/budgets/7/files/attachment').flush(bytes);
      await saving;
      expect(clicked).toEqual([{ href: 'blob:fake/1', download: REPORT.name }]);
      expect(urls.made.get('blob:fake/1')).toBe(bytes);
      expect(urls.live.size).toBe(0);
    } finally {
      click.mockRestore();
      urls.restore();
    }
  });

  it('rejects a save the server refuses, with its message read out of the blob', async () => {
    const saving = transfer.save('budgets', 7, 'attachment', REPORT);
    const refusal = { code: 'not_found', message: 'No budget has the id 7' };
    http
      .expectOne('/api/budgets/7/files/attachment')
      .flush(new Blob([JSON.stringify(refusal)], { type: 'application/json' }), {
        status: 404,
        statusText: 'Not Found',
      });
    const failure: unknown = await saving.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpErrorResponse);
    expect(apiErrorMessage(failure)).toBe('No budget has the id 7');
  });

  it('keeps a download’s failure as it is when its body is no JSON', async () => {
    const saving = transfer.save('budgets', 7, 'attachment', REPORT);
    http
      .expectOne('/api/budgets/7/files/attachment')
      .flush(new Blob(['Bad Gateway']), { status: 502, statusText: 'Bad Gateway' });
    const failure: unknown = await saving.catch((error: unknown) => error);
    expect(apiErrorMessage(failure)).toBe('The server answered 502.');
  });
});

describe('FileTransfer with the app’s interceptor', () => {
  it('sends the bearer token with a download, which no <img src> could', async () => {
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(withInterceptors([aegisAuthInterceptor])),
        provideHttpClientTesting(),
        {
          provide: AEGIS_CONFIG,
          useValue: { apiBaseUrl: '/api', websocketUrl: '/ws', token: () => Promise.resolve('t') },
        },
      ],
    });
    const http = TestBed.inject(HttpTestingController);
    TestBed.inject(FileTransfer).download('budgets', 7, 'attachment').subscribe();
    // The token comes from a promise.
    await Promise.resolve();
    const request = http.expectOne('/api/budgets/7/files/attachment');
    expect(request.request.headers.get('Authorization')).toBe('Bearer t');
    request.flush(new Blob(['x']));
    http.verify();
  });
});

describe('isImage', () => {
  it('previews the raster types a browser shows, not SVG (it can carry script)', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'IMAGE/PNG']) {
      expect(isImage(type), type).toBe(true);
    }
    for (const type of ['image/svg+xml', 'application/pdf', 'application/octet-stream', '']) {
      expect(isImage(type), type).toBe(false);
    }
  });
});

describe('formatBytes', () => {
  it('says sizes as a person would, in decimal units', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(12)).toBe('12 bytes');
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(1000)).toBe('1 kB');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(350_000)).toBe('350 kB');
    expect(formatBytes(999_999)).toBe('1 MB');
    expect(formatBytes(1_200_000)).toBe('1.2 MB');
    expect(formatBytes(5_000_000)).toBe('5 MB');
    expect(formatBytes(9_960_000)).toBe('10 MB');
    expect(formatBytes(2_500_000_000)).toBe('2.5 GB');
  });
});
