// A row's history in its edit dialog: who changed what, when, and the way
// back to an earlier version. The server keeps the entries (each written in
// its change's transaction); this reads them a page at a time, newest first.

import { formatDate } from '@angular/common';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  LOCALE_ID,
  computed,
  effect,
  inject,
  input,
  output,
  signal,
  untracked,
} from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { Subscription } from 'rxjs';

import {
  DEFAULT_PAGE_SIZE,
  FieldChange,
  HistoryAction,
  HistoryEntry,
  HistoryPage,
  JsonObject,
  JsonValue,
  Restore,
} from '../business/models/aegis-protocol.types';
import { AEGIS_CONFIG, EntityId, apiErrorMessage } from '../business/services/aegis-api';

/**
 * What each field is called on screen, by JSON name: a feature's view
 * fields (`<ENTITY>_VIEW_FIELDS`) are one. A field it does not name shows
 * as its name.
 */
export type FieldLabels = Readonly<Record<string, { readonly label: string }>>;

/** One field a change set, as the timeline shows it. */
export interface ChangeView {
  readonly field: string;
  readonly label: string;
  /** What it held before; `null` after a create, which had no before. */
  readonly before: string | null;
  /** What it held after; `null` after a delete, which has no after. */
  readonly after: string | null;
}

/** One entry of the timeline. */
export interface EntryView {
  readonly entry: HistoryEntry;
  /** "Created", "Changed", "Deleted", or "Restored version from …". */
  readonly heading: string;
  /** When, in the reader's locale. */
  readonly time: string;
  readonly changes: readonly ChangeView[];
  /** Whether "Restore this version" is offered. */
  readonly restorable: boolean;
}

/** Shown for a value that is not there. */
const NOTHING = '—';

const ACTION_HEADINGS: Readonly<Record<HistoryAction, string>> = {
  created: 'Created',
  updated: 'Changed',
  deleted: 'Deleted',
};

/**
 * A field's value for a person: nothing as "—", a stored file as its name,
 * a list as its items, a yes/no as "Yes"/"No", any other object as compact
 * JSON, text as it is.
 */
export function historyValue(value: JsonValue | undefined): string {
  if (value === null || value === undefined) {
    return NOTHING;
  }
  if (typeof value === 'boolean') {
    return value ? 'Yes' : 'No';
  }
  if (typeof value === 'string' || typeof value === 'number') {
    return String(value);
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? NOTHING : value.map(historyValue).join(', ');
  }
  return storedFileName(value) ?? JSON.stringify(value);
}

/** A file field's value (`StoredFile`) shows as its name; any other object has none. */
function storedFileName(value: JsonObject): string | null {
  const { id, name, size, contentType } = value;
  const isFile =
    typeof id === 'string' &&
    typeof size === 'number' &&
    typeof contentType === 'string' &&
    typeof name === 'string';
  return isFile ? name : null;
}

/** A field's label, or its name when `labels` has none (an own key only: no `constructor`). */
function labelOf(field: string, labels: FieldLabels): string {
  return Object.hasOwn(labels, field) ? labels[field].label : field;
}

function changeView(action: HistoryAction, change: FieldChange, labels: FieldLabels): ChangeView {
  return {
    field: change.field,
    label: labelOf(change.field, labels),
    before: action === 'created' ? null : historyValue(change.old),
    after: action === 'deleted' ? null : historyValue(change.new),
  };
}

function heading(
  entry: HistoryEntry,
  loaded: ReadonlyMap<number, HistoryEntry>,
  time: (at: string) => string,
): string {
  if (entry.restores === null || entry.restores === undefined) {
    return ACTION_HEADINGS[entry.action];
  }
  const restored = loaded.get(entry.restores);
  return restored === undefined
    ? 'Restored an earlier version'
    : `Restored version from ${time(restored.at)}`;
}

/**
 * The timeline of the entries loaded (newest first): each entry's heading,
 * time and changes, and whether it can be restored: a create or an update,
 * never the newest, which is the row as it is.
 */
export function historyView(
  entries: readonly HistoryEntry[],
  labels: FieldLabels,
  time: (at: string) => string,
): EntryView[] {
  const loaded = new Map(entries.map((entry) => [entry.id, entry]));
  return entries.map((entry, index) => ({
    entry,
    heading: heading(entry, loaded, time),
    time: time(entry.at),
    changes: entry.changes.map((change) => changeView(entry.action, change, labels)),
    restorable: index > 0 && entry.action !== 'deleted' && entry.withheld !== true,
  }));
}

/** Tells one history's ids from another's. */
let histories = 0;

/**
 * A row's history: a timeline of its changes (who, when, each field's
 * label with its old and new value), older pages on demand, and "Restore
 * this version" on each earlier version, which saves that version's values
 * back (based on `version`, as a save is) and emits the row as saved.
 */
@Component({
  selector: 'aegis-row-history',
  imports: [MatButtonModule, MatProgressBarModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (loading()) {
      <mat-progress-bar mode="indeterminate" aria-label="Loading the history" />
    }
    @if (loadError(); as message) {
      <p class="error" role="alert">{{ message }}</p>
      <button mat-button type="button" (click)="reload()">Try again</button>
    }
    @if (restoreError(); as message) {
      <p class="error" role="alert">{{ message }}</p>
    }
    @if (views().length > 0) {
      <ol class="timeline">
        @for (view of views(); track view.entry.id) {
          <li class="entry">
            <p class="head" [id]="headId(view.entry)">
              <span class="action">{{ view.heading }}</span>
              <span class="who">by {{ view.entry.userId }}</span>
              <time [attr.datetime]="view.entry.at" [title]="view.entry.at">{{ view.time }}</time>
            </p>
            @if (view.entry.withheld) {
              <p class="withheld">What it changed was someone else's to see.</p>
            }
            @if (view.changes.length > 0) {
              <dl class="changes">
                @for (change of view.changes; track change.field) {
                  <dt>{{ change.label }}</dt>
                  <dd>
                    @if (change.before !== null) {
                      <span class="before">{{ change.before }}</span>
                    }
                    @if (change.before !== null && change.after !== null) {
                      <span class="arrow" aria-hidden="true">→</span>
                      <span class="visually-hidden"> to </span>
                    }
                    @if (change.after !== null) {
                      <span class="after">{{ change.after }}</span>
                    }
                  </dd>
                }
              </dl>
            }
            @if (view.restorable) {
              <button
                mat-stroked-button
                type="button"
                [disabled]="restoring() !== null"
                [attr.aria-describedby]="headId(view.entry)"
                (click)="restore(view.entry)"
              >
                {{ restoring() === view.entry.id ? 'Restoring…' : 'Restore this version' }}
              </button>
            }
          </li>
        }
      </ol>
    } @else if (!loading() && loadError() === null) {
      <p class="empty">No changes recorded yet.</p>
    }
    @if (hasOlder()) {
      <button mat-button type="button" [disabled]="loading()" (click)="showOlder()">
        Show older
      </button>
    }
  `,
  styles: `
    :host {
      display: block;
    }
    .timeline {
      margin: 0;
      padding: 0;
      list-style: none;
    }
    .entry {
      position: relative;
      padding: 4px 0 12px 20px;
      border-left: 2px solid var(--mat-sys-outline-variant);
    }
    .entry::before {
      content: '';
      position: absolute;
      top: 10px;
      left: -6px;
      width: 10px;
      height: 10px;
      border-radius: 50%;
      background: var(--mat-sys-primary);
    }
    .head {
      display: flex;
      flex-wrap: wrap;
      gap: 4px 8px;
      margin: 0 0 4px;
    }
    .action {
      font: var(--mat-sys-title-small);
    }
    .who,
    time {
      color: var(--mat-sys-on-surface-variant);
    }
    .changes {
      display: grid;
      grid-template-columns: minmax(80px, max-content) 1fr;
      gap: 2px 12px;
      margin: 0 0 8px;
    }
    dt {
      color: var(--mat-sys-on-surface-variant);
    }
    dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    .before {
      text-decoration: line-through;
      color: var(--mat-sys-on-surface-variant);
    }
    .arrow {
      margin: 0 6px;
    }
    .error {
      color: var(--mat-sys-error);
    }
    .empty,
    .withheld {
      color: var(--mat-sys-on-surface-variant);
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
export class RowHistoryComponent<T extends object> {
  /** The feature (URL segment) the row belongs to. */
  readonly feature = input.required<string>();
  /** The row's id. */
  readonly rowId = input.required<EntityId>();
  /** What each field is called on screen. */
  readonly labels = input<FieldLabels>({});
  /** The row's version the dialog holds, sent with a restore; `null` when the module has none. */
  readonly version = input<number | null>(null);
  /** Anything that changes when the row changes elsewhere: the history is read again. */
  readonly revision = input<unknown>();
  /** Whether the server's answer to a restore is a row (`isEntity`, as a state manager has). */
  readonly isRow = input.required<(value: unknown) => value is T>();
  /** The row as a restore saved it. */
  readonly restored = output<T>();

  readonly #http = inject(HttpClient);
  readonly #config = inject(AEGIS_CONFIG);
  readonly #locale = inject(LOCALE_ID);
  readonly #uid = ++histories;

  /** The entries loaded, newest first. */
  readonly #entries = signal<readonly HistoryEntry[]>([]);
  /** The last page read, and the history's length then. */
  readonly #paging = signal({ page: 0, pageSize: DEFAULT_PAGE_SIZE, total: 0 });
  protected readonly loading = signal(false);
  protected readonly loadError = signal<string | null>(null);
  protected readonly restoreError = signal<string | null>(null);
  /** The entry being restored, while its request runs. */
  protected readonly restoring = signal<number | null>(null);
  #reading: Subscription | null = null;
  #restoring: Subscription | null = null;

  protected readonly views = computed(() =>
    historyView(this.#entries(), this.labels(), (at) => this.#time(at)),
  );
  protected readonly hasOlder = computed(() => {
    const { page, pageSize, total } = this.#paging();
    return page > 0 && page * pageSize < total;
  });

  constructor() {
    // Read again for another row, or when the row changed elsewhere.
    effect(() => {
      this.feature();
      this.rowId();
      this.revision();
      untracked(() => this.reload());
    });
    // A refusal was of a restore based on the version the dialog held then.
    effect(() => {
      this.version();
      untracked(() => this.restoreError.set(null));
    });
    inject(DestroyRef).onDestroy(() => {
      this.#reading?.unsubscribe();
      this.#restoring?.unsubscribe();
    });
  }

  /** Reads the newest page again; the entries shown stay until it comes. */
  protected reload(): void {
    this.#load(1);
  }

  protected showOlder(): void {
    this.#load(this.#paging().page + 1);
  }

  protected headId(entry: HistoryEntry): string {
    return `aegis-row-history-${this.#uid}-${entry.id}`;
  }

  /** Writes an entry's version back, based on the version the dialog holds. */
  protected restore(entry: HistoryEntry): void {
    this.#restoring?.unsubscribe();
    this.restoreError.set(null);
    this.restoring.set(entry.id);
    const version = this.version();
    const body: Restore = version === null ? {} : { version };
    this.#restoring = this.#http
      .post<unknown>(`${this.#url()}/${entry.id}/restore`, body)
      .subscribe({
        next: (saved) => this.#restored(saved),
        error: (error: unknown) => this.#restoreFailed(error),
      });
  }

  #url(): string {
    return `${this.#config.apiBaseUrl}/${this.feature()}/${encodeURIComponent(String(this.rowId()))}/history`;
  }

  /** Reads a page: the first replaces what is shown (a reload), a later one adds to it. */
  #load(page: number): void {
    this.#reading?.unsubscribe();
    this.loading.set(true);
    this.loadError.set(null);
    const params = { page, pageSize: DEFAULT_PAGE_SIZE };
    this.#reading = this.#http.get<HistoryPage>(this.#url(), { params }).subscribe({
      next: (answer) => {
        this.#reading = null;
        this.loading.set(false);
        this.#take(answer);
      },
      error: (error: unknown) => {
        this.#reading = null;
        this.loading.set(false);
        this.loadError.set(apiErrorMessage(error));
      },
    });
  }

  #take(answer: HistoryPage): void {
    const kept = answer.page <= 1 ? [] : this.#entries();
    // A change made since the first page shifts the later ones by an entry.
    const known = new Set(kept.map((entry) => entry.id));
    this.#entries.set([...kept, ...answer.data.filter((entry) => !known.has(entry.id))]);
    this.#paging.set({ page: answer.page, pageSize: answer.pageSize, total: answer.total });
  }

  #restored(saved: unknown): void {
    this.#restoring = null;
    this.restoring.set(null);
    if (!this.isRow()(saved)) {
      this.restoreError.set('The server’s answer was not the row.');
      return;
    }
    this.restored.emit(saved);
    this.reload();
  }

  #restoreFailed(error: unknown): void {
    this.#restoring = null;
    this.restoring.set(null);
    this.restoreError.set(apiErrorMessage(error));
    // The row moved on: the history shows how.
    if (error instanceof HttpErrorResponse && error.status === 409) {
      this.reload();
    }
  }

  /** A time for a person, in their locale; as sent when it is no time. */
  #time(at: string): string {
    try {
      return formatDate(at, 'medium', this.#locale);
    } catch {
      return at;
    }
  }
}
