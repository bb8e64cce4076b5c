// The file input in a reactive form, against the real HTTP client on its
// testing backend: what it uploads, what the control's value becomes, and
// what a person sees and can reach at each step.

import { Component, signal } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { FormControl, ReactiveFormsModule } from '@angular/forms';
import { HttpEventType } from '@angular/common/http';
import { HttpTestingController, TestRequest } from '@angular/common/http/testing';
import axe from 'axe-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { StoredFile } from '../business/models/aegis-protocol.types';
import { FakeObjectUrls, fakeObjectUrls, httpTestingProviders } from '../business/services/testing';
import { FileInputComponent, acceptedTypesText, fileHint } from './file-input';

const UPLOAD_URL = '/api/budgets/files/attachment';

const STORED_REPORT: StoredFile = {
  id: 'a'.repeat(64),
  name: 'report.pdf',
  size: 1_200_000,
  contentType: 'application/pdf',
};

const STORED_PHOTO: StoredFile = {
  id: 'b'.repeat(64),
  name: 'photo.png',
  size: 350_000,
  contentType: 'image/png',
};

@Component({
  imports: [FileInputComponent, ReactiveFormsModule],
  template: `
    <aegis-file-input
      [formControl]="attachment"
      feature="budgets"
      field="attachment"
      label="Attachment"
      [accept]="accept()"
      [maxBytes]="maxBytes()"
      [rowId]="rowId()"
    />
  `,
})
class HostComponent {
  readonly attachment = new FormControl<StoredFile | null>(null);
  readonly accept = signal<readonly string[]>(['application/pdf', 'image/png', 'image/jpeg']);
  readonly maxBytes = signal<number | null>(5_000_000);
  readonly rowId = signal<number | null>(7);
}

/** A list of files as an `<input type=file>` or a drop holds (jsdom makes none). */
function fileList(files: readonly File[]): FileList {
  const list = { length: files.length, item: (index: number) => files[index] ?? null };
  return list as unknown as FileList;
}

describe('FileInputComponent', () => {
  let http: HttpTestingController;
  let urls: FakeObjectUrls;
  let fixture: ComponentFixture<HostComponent>;
  let host: HostComponent;
  let element: HTMLElement;
  let changes: (StoredFile | null)[];

  beforeEach(() => {
    urls = fakeObjectUrls();
    TestBed.configureTestingModule({ providers: httpTestingProviders() });
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(HostComponent);
    host = fixture.componentInstance;
    element = fixture.nativeElement as HTMLElement;
    changes = [];
    host.attachment.valueChanges.subscribe((value) => changes.push(value));
    fixture.detectChanges();
  });

  afterEach(() => {
    http.verify();
    urls.restore();
  });

  const render = (): void => fixture.detectChanges();

  /** The button a screen reader names so. */
  function button(name: string): HTMLButtonElement | null {
    return element.querySelector<HTMLButtonElement>(`button[aria-label="${name}"]`);
  }

  function errorShown(): HTMLElement | null {
    return element.querySelector<HTMLElement>('.aegis-file-error[role="alert"]');
  }

  /** Picks a file as the browser's picker would. */
  function choose(file: File): void {
    const picker = element.querySelector<HTMLInputElement>('input[type="file"]');
    if (picker === null) {
      throw new Error('no file picker');
    }
    Object.defineProperty(picker, 'files', { value: fileList([file]), configurable: true });
    picker.dispatchEvent(new Event('change'));
    render();
  }

  function drop(file: File): Event {
    const event = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'dataTransfer', {
      value: { files: fileList([file]), types: ['Files'] },
    });
    element.querySelector('.zone')?.dispatchEvent(event);
    render();
    return event;
  }

  function uploadRequest(name: string): TestRequest {
    return http.expectOne(`${UPLOAD_URL}?name=${encodeURIComponent(name)}`);
  }

  function stored(file: StoredFile): void {
    host.attachment.setValue(file);
    changes.length = 0;
    render();
  }

  it('says what the field takes, in words', () => {
    expect(element.querySelector('.hint')?.textContent?.trim()).toBe(
      'PDF, PNG or JPEG, up to 5 MB',
    );
    expect(acceptedTypesText([])).toBe('Any file');
    expect(acceptedTypesText(['image/*', 'application/pdf'])).toBe('Any image or PDF');
    expect(acceptedTypesText(['application/x-sqlite3'])).toBe('application/x-sqlite3');
    expect(acceptedTypesText(['application/msword', 'application/vnd.ms-excel'])).toBe(
      'Word or Excel',
    );
    expect(fileHint([], null)).toBe('Any file');
    const picker = element.querySelector<HTMLInputElement>('input[type="file"]');
    expect(picker?.accept).toBe('application/pdf,image/png,image/jpeg');
  });

  it('uploads a chosen file with progress, then holds what the server stored', () => {
    const file = new File(['%PDF-1.7'], 'report.pdf', { type: 'application/pdf' });
    choose(file);
    const request = uploadRequest('report.pdf');
    expect(request.request.body).toBe(file);
    request.event({ type: HttpEventType.UploadProgress, loaded: 3, total: 4 });
    render();
    const bar = element.querySelector('mat-progress-bar');
    expect(bar?.getAttribute('aria-label')).toBe('Uploading report.pdf');
    expect(bar?.getAttribute('aria-valuenow')).toBe('75');
    expect(element.querySelector('.percent')?.textContent?.trim()).toBe('75%');
    expect(host.attachment.value).toBeNull();

    request.flush(STORED_REPORT, { status: 201, statusText: 'Created' });
    render();
    expect(host.attachment.value).toEqual(STORED_REPORT);
    expect(changes).toEqual([STORED_REPORT]);
    expect(host.attachment.touched).toBe(true);
    expect(element.querySelector('mat-progress-bar')).toBeNull();
    expect(element.querySelector('.name')?.textContent?.trim()).toBe('report.pdf');
    expect(element.querySelector('.size')?.textContent?.trim()).toBe('1.2 MB');
    expect(button('Replace report.pdf')).not.toBeNull();
    expect(button('Remove report.pdf')).not.toBeNull();
  });

  it('uploads the first file dropped on it', () => {
    const event = drop(new File(['%PDF'], 'dropped.pdf', { type: 'application/pdf' }));
    expect(event.defaultPrevented).toBe(true);
    uploadRequest('dropped.pdf').flush(
      { ...STORED_REPORT, name: 'dropped.pdf' },
      { status: 201, statusText: 'Created' },
    );
    expect(host.attachment.value?.name).toBe('dropped.pdf');
  });

  it('shows the server’s refusal under the field and keeps the value it had', () => {
    stored(STORED_REPORT);
    choose(new File(['\x89PNG'], 'scan.pdf', { type: 'application/pdf' }));
    const message = 'This file is a PNG image (image/png); the field takes application/pdf';
    uploadRequest('scan.pdf').flush(
      { code: 'unprocessable', message },
      { status: 422, statusText: 'Unprocessable Entity' },
    );
    render();
    expect(errorShown()?.textContent?.trim()).toBe(message);
    expect(host.attachment.value).toEqual(STORED_REPORT);
    expect(changes).toEqual([]);
    // Named by the group that holds the buttons, for a screen reader.
    const zone = element.querySelector('[role="group"]');
    expect(zone?.getAttribute('aria-describedby')).toContain(errorShown()?.id);
  });

  it('refuses a file over the limit without sending it', () => {
    host.maxBytes.set(10);
    render();
    choose(new File(['01234567890'], 'big.pdf', { type: 'application/pdf' }));
    http.expectNone((request) => request.url.startsWith(UPLOAD_URL));
    expect(errorShown()?.textContent?.trim()).toBe(
      'This file (11 bytes) is larger than Attachment takes: at most 10 bytes.',
    );
    expect(host.attachment.value).toBeNull();
    expect(changes).toEqual([]);
  });

  it('cancels an upload, aborting its request and keeping the value', () => {
    stored(STORED_REPORT);
    choose(new File(['%PDF'], 'other.pdf', { type: 'application/pdf' }));
    const request = uploadRequest('other.pdf');
    button('Cancel uploading other.pdf')?.click();
    render();
    expect(request.cancelled).toBe(true);
    expect(element.querySelector('mat-progress-bar')).toBeNull();
    expect(host.attachment.value).toEqual(STORED_REPORT);
    expect(changes).toEqual([]);
  });

  it('removes the file: the value becomes null, and focus goes to the picker’s button', () => {
    stored(STORED_REPORT);
    const remove = button('Remove report.pdf');
    remove?.focus();
    remove?.click();
    render();
    expect(host.attachment.value).toBeNull();
    expect(changes).toEqual([null]);
    expect(host.attachment.touched).toBe(true);
    expect(document.activeElement).toBe(button('Choose file for Attachment'));
  });

  it('highlights while a file is dragged over it, and not after it leaves', () => {
    const zone = element.querySelector<HTMLElement>('.zone');
    const drag = (type: string, types: string[]): Event => {
      const event = new Event(type, { bubbles: true, cancelable: true });
      Object.defineProperty(event, 'dataTransfer', { value: { types } });
      zone?.dispatchEvent(event);
      render();
      return event;
    };
    // Dragged text is no file: the browser's own handling stays.
    expect(drag('dragover', ['text/plain']).defaultPrevented).toBe(false);
    expect(zone?.classList).not.toContain('over');
    expect(drag('dragover', ['Files']).defaultPrevented).toBe(true);
    expect(zone?.classList).toContain('over');
    drag('dragleave', ['Files']);
    expect(zone?.classList).not.toContain('over');
  });

  it('downloads the file the row holds from the row’s URL', async () => {
    const click = vi
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(() => undefined);
    try {
      stored(STORED_REPORT);
      button('Download report.pdf')?.click();
      const bytes = new Blob(['%PDF']);
      const request = http.expectOne('/api/budgets/7/files/attachment');
      expect(request.request.responseType).toBe('blob');
      request.flush(bytes);
      await vi.waitFor(() => expect(click).toHaveBeenCalledTimes(1));
      expect([...urls.made.values()]).toEqual([bytes]);
    } finally {
      click.mockRestore();
    }
  });

  it('downloads a just-uploaded file from its own bytes, and no stored one without a row', () => {
    host.rowId.set(null);
    stored(STORED_REPORT);
    expect(button('Download report.pdf')).toBeNull();

    const click = vi
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(() => undefined);
    try {
      const file = new File(['%PDF'], 'new.pdf', { type: 'application/pdf' });
      choose(file);
      uploadRequest('new.pdf').flush(
        { ...STORED_REPORT, name: 'new.pdf' },
        { status: 201, statusText: 'Created' },
      );
      render();
      button('Download new.pdf')?.click();
      expect([...urls.made.values()]).toEqual([file]);
      expect(click).toHaveBeenCalledTimes(1);
    } finally {
      click.mockRestore();
    }
  });

  it('previews a stored image through the API, and lets its URL go when it goes', () => {
    stored(STORED_PHOTO);
    const image = new Blob(['\x89PNG'], { type: 'image/png' });
    http.expectOne('/api/budgets/7/files/attachment').flush(image);
    render();
    const preview = element.querySelector<HTMLImageElement>('img.preview');
    expect(preview?.alt).toBe('photo.png');
    expect(preview?.getAttribute('src')).toBe('blob:fake/1');
    expect(urls.made.get('blob:fake/1')).toBe(image);
    fixture.destroy();
    expect(urls.live.size).toBe(0);
  });

  it('previews a just-uploaded image from its own bytes, without reading it back', () => {
    const file = new File(['\x89PNG'], 'photo.png', { type: 'image/png' });
    choose(file);
    uploadRequest('photo.png').flush(STORED_PHOTO, { status: 201, statusText: 'Created' });
    render();
    expect(element.querySelector<HTMLImageElement>('img.preview')?.alt).toBe('photo.png');
    expect(urls.made.get('blob:fake/1')).toBe(file);
    button('Remove photo.png')?.click();
    render();
    expect(element.querySelector('img.preview')).toBeNull();
    expect(urls.live.size).toBe(0);
  });

  it('is disabled with its control: every button, and the drop zone', () => {
    stored(STORED_REPORT);
    host.attachment.disable();
    render();
    const buttons = Array.from(element.querySelectorAll('button'));
    expect(buttons.length).toBeGreaterThan(0);
    expect(buttons.every((b) => b.disabled)).toBe(true);
    expect(element.querySelector('[role="group"]')?.getAttribute('aria-disabled')).toBe('true');
    drop(new File(['%PDF'], 'late.pdf'));
    http.expectNone((request) => request.url.startsWith(UPLOAD_URL));
  });

  it('is touched when focus leaves it', () => {
    const choose = button('Choose file for Attachment');
    choose?.dispatchEvent(new FocusEvent('focusout', { bubbles: true, relatedTarget: null }));
    expect(host.attachment.touched).toBe(true);
  });

  it('has no accessibility violation axe can see without a layout, in any state', async () => {
    const violations = async (): Promise<string[]> => {
      render();
      const results = await axe.run(element, { rules: { 'color-contrast': { enabled: false } } });
      return results.violations.map((v) => `${v.id}: ${v.help}`);
    };
    expect(await violations()).toEqual([]);
    choose(new File(['%PDF'], 'report.pdf', { type: 'application/pdf' }));
    const request = uploadRequest('report.pdf');
    request.event({ type: HttpEventType.UploadProgress, loaded: 1, total: 4 });
    expect(await violations()).toEqual([]);
    request.flush(
      { code: 'too_large', message: 'The field takes files up to 5 MB' },
      {
        status: 413,
        statusText: 'Payload Too Large',
      },
    );
    expect(await violations()).toEqual([]);
    stored(STORED_PHOTO);
    http.expectOne('/api/budgets/7/files/attachment').flush(new Blob(['\x89PNG']));
    expect(await violations()).toEqual([]);
  });
});
