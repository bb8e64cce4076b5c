import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  ElementRef,
  Injector,
  afterNextRender,
  computed,
  forwardRef,
  inject,
  input,
  signal,
  viewChild,
} from '@angular/core';
import { ControlValueAccessor, NG_VALUE_ACCESSOR } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { Subscription } from 'rxjs';

import { StoredFile } from '../business/models/aegis-protocol.types';
import { EntityId, apiErrorMessage } from '../business/services/aegis-api';
import { saveFile } from '../business/services/downloads';
import {
  FileTransfer,
  FileUpload,
  formatBytes,
  isImage,
  storedFileUrl,
} from '../business/services/file-transfer';

/** A file uploaded in this form, not yet saved with its row. */
interface LocalFile {
  readonly stored: StoredFile;
  /** The bytes as chosen, to download again without asking the server. */
  readonly file: File;
  /** An object URL of them when they are an image, for the preview. */
  readonly previewUrl: string | null;
}

/** An upload under way. */
interface Progress {
  readonly name: string;
  readonly percent: number;
}

/** Tells one file input's label, hint and error from another's. */
let inputs = 0;

/**
 * A row's file field in a form: a drop zone with a "Choose file" button,
 * which uploads the file at once (with progress, cancellable) so the
 * control's value is the `StoredFile` the server answered, sent as is with
 * the row's save. A file already on the row can be downloaded and, when an
 * image, is previewed; the server's refusal shows under the field.
 */
@Component({
  selector: 'aegis-file-input',
  imports: [MatButtonModule, MatProgressBarModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  providers: [
    { provide: NG_VALUE_ACCESSOR, useExisting: forwardRef(() => FileInputComponent), multi: true },
  ],
  host: { '(focusout)': 'onFocusOut($event)' },
  template: `
    <div
      class="zone"
      role="group"
      [class.over]="dragOver()"
      [class.disabled]="disabled()"
      [attr.aria-labelledby]="labelId"
      [attr.aria-describedby]="describedBy()"
      [attr.aria-disabled]="disabled() || null"
      (dragenter)="onDragOver($event)"
      (dragover)="onDragOver($event)"
      (dragleave)="onDragLeave($event)"
      (drop)="onDrop($event)"
    >
      <span class="label" [id]="labelId">{{ shownLabel() }}</span>
      @if (progress(); as progress) {
        <div class="uploading">
          <mat-progress-bar
            mode="determinate"
            [value]="progress.percent"
            [attr.aria-label]="'Uploading ' + progress.name"
          />
          <span class="percent">{{ progress.percent }}%</span>
          <button
            mat-button
            type="button"
            [attr.aria-label]="'Cancel uploading ' + progress.name"
            (click)="cancel()"
          >
            Cancel
          </button>
        </div>
      } @else if (value(); as file) {
        <div class="file">
          @if (previewUrl(); as url) {
            <img class="preview" [src]="url" [alt]="file.name" />
          }
          <span class="name">{{ file.name }}</span>
          <span class="size">{{ size(file) }}</span>
          <span class="actions">
            @if (canDownload()) {
              <button
                mat-button
                type="button"
                [disabled]="disabled()"
                [attr.aria-label]="'Download ' + file.name"
                (click)="download(file)"
              >
                Download
              </button>
            }
            <button
              #choose
              mat-stroked-button
              type="button"
              [disabled]="disabled()"
              [attr.aria-label]="'Replace ' + file.name"
              (click)="openPicker()"
            >
              Replace
            </button>
            <button
              mat-button
              type="button"
              [disabled]="disabled()"
              [attr.aria-label]="'Remove ' + file.name"
              (click)="remove()"
            >
              Remove
            </button>
          </span>
        </div>
      } @else {
        <div class="empty">
          <span aria-hidden="true">Drop a file here, or</span>
          <button
            #choose
            mat-stroked-button
            type="button"
            [disabled]="disabled()"
            [attr.aria-label]="'Choose file for ' + shownLabel()"
            (click)="openPicker()"
          >
            Choose file
          </button>
        </div>
      }
      <input
        #picker
        type="file"
        hidden
        tabindex="-1"
        [accept]="accept().join(',')"
        (change)="onPicked(picker)"
      />
    </div>
    <p class="hint" [id]="hintId">{{ hint() }}</p>
    @if (message(); as message) {
      <p class="aegis-file-error" role="alert" [id]="errorId">{{ message }}</p>
    }
  `,
  styles: `
    :host {
      display: block;
      margin-bottom: 8px;
    }
    .zone {
      display: flex;
      flex-direction: column;
      gap: 8px;
      padding: 12px 16px;
      border: 1px dashed var(--mat-sys-outline);
      border-radius: var(--mat-sys-corner-extra-small, 4px);
      color: var(--mat-sys-on-surface);
    }
    .zone.over {
      border-style: solid;
      border-color: var(--mat-sys-primary);
      background: var(--mat-sys-primary-container);
      color: var(--mat-sys-on-primary-container);
    }
    .zone.disabled {
      border-style: dotted;
      color: var(--mat-sys-on-surface-variant);
    }
    .label {
      font: var(--mat-sys-body-small);
      color: var(--mat-sys-on-surface-variant);
    }
    .uploading,
    .file,
    .empty {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 8px 12px;
    }
    mat-progress-bar {
      flex: 1;
      min-width: 120px;
    }
    .preview {
      max-width: 96px;
      max-height: 96px;
      object-fit: contain;
      border-radius: 4px;
    }
    .name {
      overflow-wrap: anywhere;
    }
    .size {
      color: var(--mat-sys-on-surface-variant);
    }
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 4px;
      margin-left: auto;
    }
    .hint,
    .aegis-file-error {
      margin: 4px 16px 0;
      font: var(--mat-sys-body-small);
      color: var(--mat-sys-on-surface-variant);
    }
    .aegis-file-error {
      color: var(--mat-sys-error);
    }
  `,
})
export class FileInputComponent implements ControlValueAccessor {
  /** The feature (channel) whose rows hold the field. */
  readonly feature = input.required<string>();
  /** The field's name, as the API spells it. */
  readonly field = input.required<string>();
  /** What the field is called on screen; its name when none is given. */
  readonly label = input('');
  /** The MIME types the field takes; none means any. */
  readonly accept = input<readonly string[]>([]);
  /** The largest file the field takes, refused here before any upload. */
  readonly maxBytes = input<number | null>(null);
  /** The saved row's id, to read the file it holds; `null` for a new row. */
  readonly rowId = input<EntityId | null>(null);
  /** What the server said of this field when the row was saved, if anything. */
  readonly serverError = input('');

  readonly #transfer = inject(FileTransfer);
  readonly #host: ElementRef<HTMLElement> = inject(ElementRef);
  readonly #injector = inject(Injector);
  // On a Material button, `#choose` alone would be the MatButton.
  private readonly choose = viewChild('choose', { read: ElementRef<HTMLButtonElement> });
  private readonly picker = viewChild.required<ElementRef<HTMLInputElement>>('picker');

  readonly #uid = ++inputs;
  protected readonly labelId = `aegis-file-input-${this.#uid}-label`;
  protected readonly hintId = `aegis-file-input-${this.#uid}-hint`;
  protected readonly errorId = `aegis-file-input-${this.#uid}-error`;

  protected readonly value = signal<StoredFile | null>(null);
  readonly #local = signal<LocalFile | null>(null);
  protected readonly progress = signal<Progress | null>(null);
  readonly #uploadError = signal('');
  protected readonly disabled = signal(false);
  protected readonly dragOver = signal(false);
  #uploading: Subscription | null = null;

  protected readonly shownLabel = computed(() => this.label() || this.field());
  protected readonly hint = computed(() => fileHint(this.accept(), this.maxBytes()));
  protected readonly message = computed(() => this.#uploadError() || this.serverError());
  protected readonly describedBy = computed(() =>
    this.message() === '' ? this.hintId : `${this.hintId} ${this.errorId}`,
  );
  /** A just-uploaded file is downloaded from here; a stored one only once its row exists. */
  protected readonly canDownload = computed(
    () => this.#local() !== null || (this.value() !== null && this.rowId() !== null),
  );
  /** The stored image the row holds, read with the token (no `<img src>` can send it). */
  readonly #storedPreview = storedFileUrl(() => {
    const file = this.value();
    const rowId = this.rowId();
    if (file === null || rowId === null || this.#local() !== null || !isImage(file.contentType)) {
      return null;
    }
    return { feature: this.feature(), rowId, field: this.field(), file };
  });
  protected readonly previewUrl = computed(
    () => this.#local()?.previewUrl ?? this.#storedPreview(),
  );

  #onChange: (value: StoredFile | null) => void = () => undefined;
  #onTouched: () => void = () => undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => {
      this.#uploading?.unsubscribe();
      this.#setLocal(null);
    });
  }

  writeValue(value: StoredFile | null): void {
    const local = this.#local();
    // The form writing back the file just uploaded keeps its local bytes.
    if (local === null || value === null || !sameFile(local.stored, value)) {
      this.#setLocal(null);
    }
    this.value.set(value);
    this.#uploadError.set('');
  }

  registerOnChange(fn: (value: StoredFile | null) => void): void {
    this.#onChange = fn;
  }

  registerOnTouched(fn: () => void): void {
    this.#onTouched = fn;
  }

  setDisabledState(disabled: boolean): void {
    this.disabled.set(disabled);
    this.dragOver.set(false);
  }

  protected size(file: StoredFile): string {
    return formatBytes(file.size);
  }

  protected openPicker(): void {
    this.picker().nativeElement.click();
  }

  protected onPicked(picker: HTMLInputElement): void {
    const file = picker.files?.item(0) ?? null;
    // Choosing the same file again is still a change.
    picker.value = '';
    if (file !== null) {
      this.upload(file);
    }
  }

  protected onDragOver(event: DragEvent): void {
    if (this.disabled() || !carriesFiles(event)) {
      return;
    }
    // Without this the browser opens a dropped file instead.
    event.preventDefault();
    this.dragOver.set(true);
  }

  protected onDragLeave(event: DragEvent): void {
    const zone = event.currentTarget;
    // Moving over the zone's own children is no leaving.
    if (zone instanceof Node && event.relatedTarget instanceof Node) {
      if (zone.contains(event.relatedTarget)) {
        return;
      }
    }
    this.dragOver.set(false);
  }

  protected onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragOver.set(false);
    const file = event.dataTransfer?.files.item(0) ?? null;
    if (!this.disabled() && file !== null) {
      this.upload(file);
    }
  }

  /** Uploads a chosen or dropped file; the control's value follows once the server has it. */
  protected upload(file: File): void {
    this.cancel();
    this.#uploadError.set('');
    this.#onTouched();
    const tooLarge = tooLargeMessage(file, this.maxBytes(), this.shownLabel());
    if (tooLarge !== null) {
      this.#uploadError.set(tooLarge);
      return;
    }
    this.progress.set({ name: file.name, percent: 0 });
    this.#uploading = this.#transfer.upload(this.feature(), this.field(), file).subscribe({
      next: (event) => this.#onUpload(file, event),
      error: (error: unknown) => {
        this.#uploading = null;
        this.progress.set(null);
        this.#uploadError.set(apiErrorMessage(error));
        this.#refocus();
      },
    });
  }

  /** Stops the upload under way, if any; the value stays as it was. */
  protected cancel(): void {
    if (this.#uploading === null) {
      return;
    }
    this.#uploading.unsubscribe();
    this.#uploading = null;
    this.progress.set(null);
    this.#refocus();
  }

  protected remove(): void {
    this.#setLocal(null);
    this.#uploadError.set('');
    this.#change(null);
    this.#refocus();
  }

  protected async download(file: StoredFile): Promise<void> {
    this.#uploadError.set('');
    const local = this.#local();
    const rowId = this.rowId();
    if (local !== null) {
      saveFile(local.file, file.name);
    } else if (rowId !== null) {
      try {
        await this.#transfer.save(this.feature(), rowId, this.field(), file);
      } catch (error) {
        this.#uploadError.set(apiErrorMessage(error));
      }
    }
  }

  protected onFocusOut(event: FocusEvent): void {
    const next = event.relatedTarget;
    if (!(next instanceof Node) || !this.#host.nativeElement.contains(next)) {
      this.#onTouched();
    }
  }

  #onUpload(file: File, event: FileUpload): void {
    if (event.kind === 'progress') {
      const percent = event.total > 0 ? Math.round((event.loaded / event.total) * 100) : 0;
      this.progress.set({ name: file.name, percent: Math.min(percent, 100) });
      return;
    }
    this.#uploading = null;
    this.progress.set(null);
    const previewUrl = isImage(event.file.contentType) ? URL.createObjectURL(file) : null;
    this.#setLocal({ stored: event.file, file, previewUrl });
    this.#change(event.file);
    this.#refocus();
  }

  #change(value: StoredFile | null): void {
    this.value.set(value);
    this.#onChange(value);
    this.#onTouched();
  }

  /** Replaces the just-uploaded file, letting go of the old one's preview. */
  #setLocal(local: LocalFile | null): void {
    const previous = this.#local();
    if (previous?.previewUrl) {
      URL.revokeObjectURL(previous.previewUrl);
    }
    this.#local.set(local);
  }

  /**
   * The button that was focused (Cancel, Remove) is gone once the view
   * changes: focus goes to the one that chooses a file, unless the person
   * has moved on elsewhere meanwhile.
   */
  #refocus(): void {
    afterNextRender(
      () => {
        const active = document.activeElement;
        const lost = active === null || active === document.body;
        if (lost || this.#host.nativeElement.contains(active)) {
          this.choose()?.nativeElement.focus();
        }
      },
      { injector: this.#injector },
    );
  }
}

function sameFile(a: StoredFile, b: StoredFile): boolean {
  return a.id === b.id && a.name === b.name;
}

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

/** Worded as the server's 413, with sizes a person reads at a glance. */
function tooLargeMessage(file: File, maxBytes: number | null, label: string): string | null {
  if (maxBytes === null || file.size <= maxBytes) {
    return null;
  }
  const size = formatBytes(file.size);
  return `This file (${size}) is larger than ${label} takes: at most ${formatBytes(maxBytes)}.`;
}

/** Names a person knows for the types a file field most often takes. */
const TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  ['application/pdf', 'PDF'],
  ['image/png', 'PNG'],
  ['image/jpeg', 'JPEG'],
  ['image/gif', 'GIF'],
  ['image/webp', 'WebP'],
  ['image/svg+xml', 'SVG'],
  ['image/*', 'any image'],
  ['text/plain', 'plain text'],
  ['text/csv', 'CSV'],
  ['application/json', 'JSON'],
  ['application/zip', 'ZIP'],
  ['application/msword', 'Word'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'Word'],
  ['application/vnd.ms-excel', 'Excel'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Excel'],
  ['application/vnd.ms-powerpoint', 'PowerPoint'],
  ['application/vnd.openxmlformats-officedocument.presentationml.presentation', 'PowerPoint'],
  ['audio/*', 'any audio'],
  ['video/*', 'any video'],
]);

/**
 * The types a field takes, as a sentence starts: "PDF, PNG or JPEG", "Any
 * file" for none; a type without a common name shows as its MIME type.
 */
export function acceptedTypesText(accept: readonly string[]): string {
  if (accept.length === 0) {
    return 'Any file';
  }
  const names = [...new Set(accept.map((type) => TYPE_NAMES.get(type.toLowerCase()) ?? type))];
  // "Any image, …" as the sentence starts; a MIME type stays as it is spelt.
  if (TYPE_NAMES.has(accept[0].toLowerCase())) {
    names[0] = names[0].charAt(0).toUpperCase() + names[0].slice(1);
  }
  return names.length === 1
    ? names[0]
    : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** The line under a file field: what it takes, and up to what size. */
export function fileHint(accept: readonly string[], maxBytes: number | null): string {
  const types = acceptedTypesText(accept);
  return maxBytes === null ? types : `${types}, up to ${formatBytes(maxBytes)}`;
}
