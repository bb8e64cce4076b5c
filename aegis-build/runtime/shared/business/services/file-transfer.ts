// Files a row holds (fields of type `aegis::File`): their bytes go up on
// their own, before the row is saved, and come back through the API with
// the bearer token, so the browser never links to them directly.

import { HttpClient, HttpErrorResponse, HttpEvent, HttpEventType } from '@angular/common/http';
import { Injectable, Signal, computed, effect, inject, signal, untracked } from '@angular/core';
import {
  Observable,
  catchError,
  filter,
  firstValueFrom,
  from,
  map,
  switchMap,
  throwError,
} from 'rxjs';

import { StoredFile } from '../models/aegis-protocol.types';
import { AEGIS_CONFIG, EntityId } from './aegis-api';
import { saveFile } from './downloads';

/** How an upload is going: some progress, then the file as the server stored it. */
export type FileUpload =
  | { readonly kind: 'progress'; readonly loaded: number; readonly total: number }
  | { readonly kind: 'done'; readonly file: StoredFile };

/** Where a row's stored file is read from. */
export interface StoredFileRef {
  readonly feature: string;
  readonly rowId: EntityId;
  readonly field: string;
  /** The file the row holds: a different one (another hash) is another read. */
  readonly file: StoredFile;
}

/** Uploads and downloads the files of rows' file fields. */
@Injectable({ providedIn: 'root' })
export class FileTransfer {
  readonly #http = inject(HttpClient);
  readonly #config = inject(AEGIS_CONFIG);

  /**
   * Sends a file's bytes for a feature's file field: the server stores
   * them and answers what the row's field is then to hold. The server
   * decides the type from the content, whatever the browser guessed.
   * Unsubscribing aborts the upload.
   */
  upload(feature: string, field: string, file: File): Observable<FileUpload> {
    // Encoded by hand: Angular's query encoding leaves `+`, which the
    // server reads back as a space.
    const url = `${this.#config.apiBaseUrl}/${feature}/files/${field}?name=${encodeURIComponent(file.name)}`;
    return this.#http
      .post<StoredFile>(url, file, {
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
        reportProgress: true,
        observe: 'events',
      })
      .pipe(
        map((event) => uploadEvent(event, file.size)),
        filter((event): event is FileUpload => event !== null),
      );
  }

  /**
   * The bytes of the file a row's field holds. A failure's ApiError is
   * read out of its body, so `apiErrorMessage` says what the server said.
   */
  download(feature: string, rowId: EntityId, field: string): Observable<Blob> {
    const url = `${this.#config.apiBaseUrl}/${feature}/${encodeURIComponent(String(rowId))}/files/${field}`;
    return this.#http
      .get(url, { responseType: 'blob' })
      .pipe(
        catchError((error: unknown) =>
          from(withJsonBody(error)).pipe(switchMap((read) => throwError(() => read))),
        ),
      );
  }

  /**
   * Downloads the file a row's field holds and hands it to the browser to
   * save under its name; rejects with the request's error.
   */
  async save(feature: string, rowId: EntityId, field: string, file: StoredFile): Promise<void> {
    const contents = await firstValueFrom(this.download(feature, rowId, field));
    saveFile(contents, file.name);
  }
}

/** A blob request's error body is a blob too: the JSON in it, parsed, if it holds some. */
async function withJsonBody(error: unknown): Promise<unknown> {
  if (!(error instanceof HttpErrorResponse) || !(error.error instanceof Blob)) {
    return error;
  }
  try {
    return new HttpErrorResponse({
      error: JSON.parse(await error.error.text()) as unknown,
      headers: error.headers,
      status: error.status,
      statusText: error.statusText,
      url: error.url ?? undefined,
    });
  } catch {
    return error;
  }
}

function uploadEvent(event: HttpEvent<StoredFile>, size: number): FileUpload | null {
  switch (event.type) {
    case HttpEventType.UploadProgress:
      // Without a length the browser still knows the file's.
      return { kind: 'progress', loaded: event.loaded, total: event.total ?? size };
    case HttpEventType.Response:
      return event.body === null ? null : { kind: 'done', file: event.body };
    default:
      return null;
  }
}

/**
 * An object URL for the stored file `source` names (none while it names
 * none), read again when it names another file and revoked when it
 * changes or its owner is destroyed. Call it in an injection context.
 * A read that fails leaves it `null`: a preview is no place for an error.
 */
export function storedFileUrl(source: () => StoredFileRef | null): Signal<string | null> {
  const transfer = inject(FileTransfer);
  const url = signal<string | null>(null);
  const wanted = computed(source, { equal: sameStoredFile });
  effect((onCleanup) => {
    const ref = wanted();
    if (ref === null) {
      return;
    }
    const reading = transfer.download(ref.feature, ref.rowId, ref.field).subscribe({
      next: (blob) => url.set(URL.createObjectURL(blob)),
      error: () => url.set(null),
    });
    onCleanup(() => {
      reading.unsubscribe();
      const shown = untracked(url);
      if (shown !== null) {
        URL.revokeObjectURL(shown);
        url.set(null);
      }
    });
  });
  return url.asReadonly();
}

function sameStoredFile(a: StoredFileRef | null, b: StoredFileRef | null): boolean {
  if (a === null || b === null) {
    return a === b;
  }
  return (
    a.feature === b.feature && a.rowId === b.rowId && a.field === b.field && a.file.id === b.file.id
  );
}

/** The types a browser shows in an `<img>`; SVG left out, as it can carry script. */
const IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
]);

/** Whether a file of this type can be previewed as an image. */
export function isImage(contentType: string): boolean {
  const essence = contentType.split(';')[0].trim().toLowerCase();
  return IMAGE_TYPES.has(essence);
}

const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB'] as const;

/**
 * A size for a person, in decimal units: "12 bytes", "350 kB", "1.2 MB"
 * (one decimal below 10, none above).
 */
export function formatBytes(n: number): string {
  if (n < 1000) {
    return n === 1 ? '1 byte' : `${n} bytes`;
  }
  let value = n / 1000;
  let unit = 0;
  // 999,999 bytes is "1 MB", not "1000 kB".
  while (Number(roundedSize(value)) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${roundedSize(value)} ${BYTE_UNITS[unit]}`;
}

function roundedSize(value: number): string {
  return value < 9.95 ? String(Math.round(value * 10) / 10) : String(Math.round(value));
}
