import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  computed,
  effect,
  inject,
  input,
  output,
} from '@angular/core';
import { FormControl, ReactiveFormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';

import { FilterOp, ListFilter } from '../business/services/list-query';
import { ReferenceTarget } from '../business/services/reference-labels';
import { ViewField, ViewFields } from '../business/services/list-view';
import { fromDateTimeInput, toDateTimeInput } from '../business/forms/form-values';
import { ReferenceInputComponent } from './reference-input';
import { ReferenceListInputComponent } from './reference-list-input';

/** How long typing pauses before a text or number filter applies. */
const TYPING_DELAY_MS = 300;

/** A field as the filter panel offers it. */
interface FilterRow {
  readonly name: string;
  readonly field: ViewField;
  /** The input type of its range bounds, or `null` when it has no range. */
  readonly range: 'number' | 'date' | 'time' | 'datetime-local' | null;
}

function rangeOf(field: ViewField): FilterRow['range'] {
  if (!field.ops.includes('gte') || !field.ops.includes('lte')) {
    return null;
  }
  switch (field.kind) {
    case 'number':
      return 'number';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    case 'instant':
    case 'local-datetime':
      return 'datetime-local';
    default:
      return null;
  }
}

/**
 * A list's filters, one row per column by its type: contains for text,
 * one of for enums, yes / no for booleans, a range for numbers, dates and
 * times, the referenced row for a reference, the rows a list of links holds
 * one of (`has_any`), empty or not for nullable
 * fields; each only where the field's `ops` (the server's, generated) take
 * its operator. It edits the filters it shows and keeps any other (a hand-written
 * URL may hold more); each change emits the whole list.
 */
@Component({
  selector: 'aegis-view-filters',
  imports: [
    MatButtonModule,
    MatFormFieldModule,
    MatInputModule,
    MatSelectModule,
    ReactiveFormsModule,
    ReferenceInputComponent,
    ReferenceListInputComponent,
  ],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="filters" role="group" aria-label="Filters">
      @for (row of rows(); track row.name) {
        <div class="filter" [attr.data-field]="row.name">
          @switch (row.field.kind) {
            @case ('text') {
              @if (row.field.ops.includes('contains')) {
                <mat-form-field subscriptSizing="dynamic">
                  <mat-label>{{ row.field.label }} contains</mat-label>
                  <input
                    matInput
                    #text
                    [value]="value(row.name, 'contains')"
                    (input)="typed(row.name, 'contains', text.value)"
                  />
                </mat-form-field>
              }
            }
            @case ('enum') {
              @if (row.field.ops.includes('in')) {
                <mat-form-field subscriptSizing="dynamic">
                  <mat-label>{{ row.field.label }}</mat-label>
                  <mat-select
                    multiple
                    [value]="chosen(row.name)"
                    (selectionChange)="choose(row.name, $event.value)"
                  >
                    @for (option of row.field.options ?? []; track option) {
                      <mat-option [value]="option">{{ option }}</mat-option>
                    }
                  </mat-select>
                </mat-form-field>
              }
            }
            @case ('boolean') {
              <mat-form-field subscriptSizing="dynamic">
                <mat-label>{{ row.field.label }}</mat-label>
                <mat-select
                  [value]="value(row.name, 'eq')"
                  (selectionChange)="set(row.name, 'eq', $event.value)"
                >
                  <mat-option value="">Any</mat-option>
                  <mat-option value="true">Yes</mat-option>
                  <mat-option value="false">No</mat-option>
                </mat-select>
              </mat-form-field>
            }
            @case ('reference') {
              <aegis-reference-input
                [target]="referenceOf(row.name)"
                [label]="row.field.label"
                [nullable]="true"
                [formControl]="referenceControl(row.name)"
              />
            }
            @case ('links') {
              <aegis-reference-list-input
                [target]="referenceOf(row.name)"
                [label]="row.field.label + ': any of'"
                subscript="dynamic"
                [formControl]="linksControl(row.name)"
              />
            }
          }
          @if (row.range; as type) {
            <mat-form-field subscriptSizing="dynamic">
              <mat-label>{{ row.field.label }} from</mat-label>
              <input
                matInput
                #from
                [type]="type"
                [value]="bound(row, 'gte')"
                (input)="typedBound(row, 'gte', from.value)"
              />
            </mat-form-field>
            <mat-form-field subscriptSizing="dynamic">
              <mat-label>{{ row.field.label }} to</mat-label>
              <input
                matInput
                #to
                [type]="type"
                [value]="bound(row, 'lte')"
                (input)="typedBound(row, 'lte', to.value)"
              />
            </mat-form-field>
          }
          @if (row.field.ops.includes('empty')) {
            <mat-form-field subscriptSizing="dynamic" class="empty">
              <mat-label>{{ row.field.label }} set</mat-label>
              <mat-select
                [value]="value(row.name, 'empty')"
                (selectionChange)="set(row.name, 'empty', $event.value)"
              >
                <mat-option value="">Any</mat-option>
                <mat-option value="false">Has a value</mat-option>
                <mat-option value="true">Empty</mat-option>
              </mat-select>
            </mat-form-field>
          }
        </div>
      }
      <button mat-button type="button" (click)="clear()" [disabled]="filters().length === 0">
        Clear filters
      </button>
    </div>
  `,
  styles: `
    .filters {
      display: flex;
      flex-wrap: wrap;
      gap: 8px 16px;
      align-items: center;
      padding: 8px 0;
    }
    .filter {
      display: flex;
      flex-wrap: wrap;
      gap: 8px;
    }
    mat-form-field {
      width: 180px;
    }
    aegis-reference-input {
      display: block;
      width: 220px;
    }
  `,
})
export class ViewFiltersComponent {
  /** The list's fields, by JSON name. */
  readonly fields = input.required<ViewFields>();
  /** The fields to offer, in order; all of `fields` when empty. */
  readonly columns = input<readonly string[]>([]);
  readonly filters = input.required<readonly ListFilter[]>();
  /** Where each reference field points. */
  readonly references = input<Readonly<Record<string, ReferenceTarget>>>({});
  readonly filtersChange = output<readonly ListFilter[]>();

  protected readonly rows = computed<readonly FilterRow[]>(() => {
    const fields = this.fields();
    const names = this.columns().length > 0 ? this.columns() : Object.keys(fields);
    // A field no filter applies to (a file every row has) gets no row.
    return names
      .filter((name) => fields[name] !== undefined && fields[name].ops.length > 0)
      .filter((name) => {
        const kind = fields[name].kind;
        return (kind !== 'reference' && kind !== 'links') || this.references()[name] !== undefined;
      })
      .map((name) => ({ name, field: fields[name], range: rangeOf(fields[name]) }));
  });
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly referenceControls = new Map<string, FormControl<number | string | null>>();
  private readonly linksControls = new Map<string, FormControl<readonly (number | string)[]>>();

  constructor() {
    inject(DestroyRef).onDestroy(() => this.timers.forEach((timer) => clearTimeout(timer)));
    // A reference's control follows the filters (the URL, Back). The
    // filters are read first: the controls are made after its first run.
    effect(() => {
      this.filters();
      for (const [name, control] of this.referenceControls) {
        const raw = this.value(name, 'eq');
        const id = raw === '' ? null : typeof control.value === 'number' ? Number(raw) : raw;
        if (String(control.value ?? '') !== raw) {
          control.setValue(id, { emitEvent: false });
        }
      }
      for (const [name, control] of this.linksControls) {
        const ids = this.linkedIds(name);
        if (control.value.join(',') !== ids.join(',')) {
          control.setValue(ids, { emitEvent: false });
        }
      }
    });
  }

  protected value(field: string, op: FilterOp): string {
    return this.filters().find((f) => f.field === field && f.op === op)?.value ?? '';
  }

  protected chosen(field: string): string[] {
    const raw = this.value(field, 'in');
    return raw === '' ? [] : raw.split(',');
  }

  protected referenceOf(field: string): ReferenceTarget {
    return this.references()[field];
  }

  protected referenceControl(field: string): FormControl<number | string | null> {
    let control = this.referenceControls.get(field);
    if (control === undefined) {
      const raw = this.value(field, 'eq');
      const numeric = raw !== '' && Number.isInteger(Number(raw));
      control = new FormControl<number | string | null>(
        raw === '' ? null : numeric ? Number(raw) : raw,
      );
      control.valueChanges.subscribe((id) => this.set(field, 'eq', id === null ? '' : String(id)));
      this.referenceControls.set(field, control);
    }
    return control;
  }

  /** The control of a list of links' filter: the rows it holds one of (`has_any`). */
  protected linksControl(field: string): FormControl<readonly (number | string)[]> {
    let control = this.linksControls.get(field);
    if (control === undefined) {
      control = new FormControl<readonly (number | string)[]>(this.linkedIds(field), {
        nonNullable: true,
      });
      control.valueChanges.subscribe((ids) => this.set(field, 'has_any', ids.join(',')));
      this.linksControls.set(field, control);
    }
    return control;
  }

  /** The ids a `has_any` filter of `field` names, as numbers where they are. */
  private linkedIds(field: string): readonly (number | string)[] {
    const raw = this.value(field, 'has_any');
    return raw === ''
      ? []
      : raw.split(',').map((id) => (Number.isInteger(Number(id)) ? Number(id) : id));
  }

  /** A range bound as its input shows it (a zoned time in this browser's zone). */
  protected bound(row: FilterRow, op: 'gte' | 'lte'): string {
    const raw = this.value(row.name, op);
    if (raw === '') {
      return '';
    }
    switch (row.field.kind) {
      case 'instant':
        return toDateTimeInput(raw).slice(0, 16);
      case 'local-datetime':
        return raw.slice(0, 16);
      case 'time':
        return raw.slice(0, 5);
      default:
        return raw;
    }
  }

  /**
   * A typed bound as the filter's value: inputs stop at the minute, so
   * `to` takes in the whole of its last minute.
   */
  protected typedBound(row: FilterRow, op: 'gte' | 'lte', text: string): void {
    let value = text;
    if (text !== '') {
      const end = op === 'lte';
      switch (row.field.kind) {
        case 'instant': {
          const start = Date.parse(fromDateTimeInput(text));
          value = new Date(end ? start + 59_999 : start).toISOString();
          break;
        }
        case 'local-datetime':
        case 'time':
          value = `${text}${end ? ':59.999999999' : ':00'}`;
          break;
      }
    }
    this.typed(row.name, op, value);
  }

  protected typed(field: string, op: FilterOp, value: string): void {
    const key = `${field}.${op}`;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.set(field, op, value.trim());
      }, TYPING_DELAY_MS),
    );
  }

  protected choose(field: string, values: readonly string[]): void {
    this.set(field, 'in', values.join(','));
  }

  /** Sets one filter (`''`: removes it), keeping every other. */
  protected set(field: string, op: FilterOp, value: string): void {
    const others = this.filters().filter((f) => !(f.field === field && f.op === op));
    this.filtersChange.emit(value === '' ? others : [...others, { field, op, value }]);
  }

  protected clear(): void {
    this.timers.forEach((timer) => clearTimeout(timer));
    this.timers.clear();
    this.filtersChange.emit([]);
  }
}
