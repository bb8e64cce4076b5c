// The file cell in a list row, against the real HTTP client on its testing
// backend: a thumbnail read with the token and let go, and a download that
// is not a click on the row.

import { Component, signal } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { HttpTestingController } from '@angular/common/http/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { StoredFile } from '../business/models/aegis-protocol.types';
import { FakeObjectUrls, fakeObjectUrls, httpTestingProviders } from '../business/services/testing';
import { FileCellComponent } from './file-cell';

const PHOTO: StoredFile = {
  id: 'b'.repeat(64),
  name: 'photo.png',
  size: 9,
  contentType: 'image/png',
};
const REPORT: StoredFile = {
  id: 'a'.repeat(64),
  name: 'report.pdf',
  size: 9,
  contentType: 'application/pdf',
};

@Component({
  imports: [FileCellComponent],
  template: `
    <table>
      <tr (click)="rowClicks = rowClicks + 1">
        <td>
          <aegis-file-cell feature="budgets" field="attachment" [rowId]="7" [file]="file()" />
        </td>
      </tr>
    </table>
  `,
})
class HostComponent {
  readonly file = signal<StoredFile | null>(null);
  rowClicks = 0;
}

describe('FileCellComponent', () => {
  let http: HttpTestingController;
  let urls: FakeObjectUrls;
  let fixture: ComponentFixture<HostComponent>;
  let element: HTMLElement;

  beforeEach(() => {
    urls = fakeObjectUrls();
    TestBed.configureTestingModule({ providers: httpTestingProviders() });
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(HostComponent);
    element = fixture.nativeElement as HTMLElement;
    fixture.detectChanges();
  });

  afterEach(() => {
    http.verify();
    urls.restore();
  });

  it('says there is no file, to a screen reader as well', () => {
    expect(element.querySelector('[aria-hidden="true"]')?.textContent).toBe('—');
    expect(element.querySelector('.visually-hidden')?.textContent).toBe('No file');
    expect(element.querySelector('button')).toBeNull();
  });

  it('shows an image’s thumbnail read through the API, and lets it go when the file changes', () => {
    fixture.componentInstance.file.set(PHOTO);
    fixture.detectChanges();
    const image = new Blob(['\x89PNG']);
    http.expectOne('/api/budgets/7/files/attachment').flush(image);
    fixture.detectChanges();
    const thumbnail = element.querySelector<HTMLImageElement>('img.thumbnail');
    expect(thumbnail?.alt).toBe('photo.png');
    expect(thumbnail?.getAttribute('src')).toBe('blob:fake/1');

    fixture.componentInstance.file.set(REPORT);
    fixture.detectChanges();
    expect(element.querySelector('img')).toBeNull();
    expect(urls.live.size).toBe(0);
  });

  it('lets the thumbnail go with the cell', () => {
    fixture.componentInstance.file.set(PHOTO);
    fixture.detectChanges();
    http.expectOne('/api/budgets/7/files/attachment').flush(new Blob(['\x89PNG']));
    expect(urls.live.size).toBe(1);
    fixture.destroy();
    expect(urls.live.size).toBe(0);
  });

  it('downloads the file from its name, without opening the row', async () => {
    const click = vi
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(() => undefined);
    try {
      fixture.componentInstance.file.set(REPORT);
      fixture.detectChanges();
      element.querySelector<HTMLButtonElement>('button[aria-label="Download report.pdf"]')?.click();
      http.expectOne('/api/budgets/7/files/attachment').flush(new Blob(['%PDF']));
      await vi.waitFor(() => expect(click).toHaveBeenCalledTimes(1));
      expect(fixture.componentInstance.rowClicks).toBe(0);
    } finally {
      click.mockRestore();
    }
  });

  it('says why a download failed', async () => {
    fixture.componentInstance.file.set(REPORT);
    fixture.detectChanges();
    element.querySelector<HTMLButtonElement>('button')?.click();
    http
      .expectOne('/api/budgets/7/files/attachment')
      // A blob request's error body comes as a blob.
      .flush(new Blob([JSON.stringify({ code: 'not_found', message: 'No such file' })]), {
        status: 404,
        statusText: 'Not Found',
      });
    await vi.waitFor(() => {
      fixture.detectChanges();
      expect(element.querySelector('[role="alert"]')?.textContent?.trim()).toBe(
        'Download failed: No such file',
      );
    });
  });
});
