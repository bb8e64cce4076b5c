import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';

import { StoredFile } from '../business/models/aegis-protocol.types';
import { EntityId, apiErrorMessage } from '../business/services/aegis-api';
import { FileTransfer, isImage, storedFileUrl } from '../business/services/file-transfer';

/**
 * A row's file field in a list: a thumbnail when it is an image, and its
 * name as a button that downloads it. Both read the bytes through the API
 * with the token; the thumbnail's object URL goes when the cell does.
 */
@Component({
  selector: 'aegis-file-cell',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (file(); as file) {
      @if (thumbnail(); as url) {
        <img class="thumbnail" [src]="url" [alt]="file.name" />
      }
      <button
        type="button"
        class="name"
        [attr.aria-label]="'Download ' + file.name"
        (click)="download($event, file)"
      >
        {{ file.name }}
      </button>
      @if (error(); as error) {
        <span class="aegis-file-error" role="alert">{{ error }}</span>
      }
    } @else {
      <span aria-hidden="true">—</span>
      <span class="visually-hidden">No file</span>
    }
  `,
  styles: `
    :host {
      display: inline-flex;
      align-items: center;
      gap: 8px;
    }
    .thumbnail {
      height: 40px;
      width: 40px;
      object-fit: cover;
      border-radius: 4px;
    }
    .name {
      padding: 0;
      border: none;
      background: none;
      font: inherit;
      color: var(--mat-sys-primary);
      text-decoration: underline;
      cursor: pointer;
      text-align: start;
      overflow-wrap: anywhere;
    }
    .name:focus-visible {
      outline: 2px solid var(--mat-sys-primary);
      outline-offset: 2px;
    }
    .aegis-file-error {
      color: var(--mat-sys-error);
      font: var(--mat-sys-body-small);
    }
    .visually-hidden {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
    }
  `,
})
export class FileCellComponent {
  /** The feature (channel) whose rows hold the field. */
  readonly feature = input.required<string>();
  /** The field's name, as the API spells it. */
  readonly field = input.required<string>();
  readonly rowId = input.required<EntityId>();
  /** The row's file (a row stored before the field existed may have none). */
  readonly file = input.required<StoredFile | null | undefined>();

  readonly #transfer = inject(FileTransfer);
  protected readonly error = signal('');
  protected readonly thumbnail = storedFileUrl(() => {
    const file = this.file();
    if (file === null || file === undefined || !isImage(file.contentType)) {
      return null;
    }
    return { feature: this.feature(), rowId: this.rowId(), field: this.field(), file };
  });

  protected async download(click: Event, file: StoredFile): Promise<void> {
    // A click on its row opens the row's edit dialog; this one is the file's.
    click.stopPropagation();
    this.error.set('');
    try {
      await this.#transfer.save(this.feature(), this.rowId(), this.field(), file);
    } catch (error) {
      this.error.set(`Download failed: ${apiErrorMessage(error)}`);
    }
  }
}
