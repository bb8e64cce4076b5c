import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  forwardRef,
  inject,
  input,
  signal,
} from '@angular/core';
import {
  ControlValueAccessor,
  FormControl,
  NG_VALUE_ACCESSOR,
  ReactiveFormsModule,
} from '@angular/forms';
import {
  MatAutocompleteModule,
  MatAutocompleteSelectedEvent,
} from '@angular/material/autocomplete';
import { MatChipsModule } from '@angular/material/chips';
import { ErrorStateMatcher } from '@angular/material/core';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';

import {
  ReferenceLabels,
  ReferenceOption,
  ReferenceSearch,
  ReferenceTarget,
} from '../business/services/reference-labels';
import { ReferenceLabelPipe } from './reference-label.pipe';

type Id = number | string;

/**
 * Picks several rows of another module (a many-to-many field): a chip per
 * chosen row, removed with its button or Backspace, and a type-ahead that
 * asks the linked module's API for matches as one types; the control's
 * value is the chosen rows' ids, in the order chosen.
 */
@Component({
  selector: 'aegis-reference-list-input',
  imports: [
    MatAutocompleteModule,
    MatChipsModule,
    MatFormFieldModule,
    MatInputModule,
    ReactiveFormsModule,
    ReferenceLabelPipe,
  ],
  changeDetection: ChangeDetectionStrategy.OnPush,
  providers: [
    {
      provide: NG_VALUE_ACCESSOR,
      useExisting: forwardRef(() => ReferenceListInputComponent),
      multi: true,
    },
  ],
  template: `
    <mat-form-field class="field" [subscriptSizing]="subscript()">
      <mat-label>{{ label() }}</mat-label>
      <mat-chip-grid
        #grid
        [attr.aria-label]="label()"
        [disabled]="disabled()"
        [errorStateMatcher]="matcher"
      >
        @for (id of ids(); track id) {
          @let name = (id | referenceLabel: target())() ?? id;
          <mat-chip-row (removed)="remove(id)">
            {{ name }}
            <button matChipRemove type="button" [attr.aria-label]="'Remove ' + name">×</button>
          </mat-chip-row>
        }
        <input
          [formControl]="text"
          [matAutocomplete]="auto"
          [matChipInputFor]="grid"
          [attr.aria-label]="'Add to ' + label()"
          (input)="onTyping()"
          (focus)="onTyping()"
          (blur)="onBlur()"
        />
      </mat-chip-grid>
      <mat-autocomplete #auto="matAutocomplete" (optionSelected)="choose($event)">
        @for (option of options(); track option.id) {
          <mat-option [value]="option">{{ option.label }}</mat-option>
        }
      </mat-autocomplete>
      @if (serverError() !== '') {
        <mat-error>{{ serverError() }}</mat-error>
      }
    </mat-form-field>
  `,
  styles: `
    .field {
      width: 100%;
    }
  `,
})
export class ReferenceListInputComponent implements ControlValueAccessor {
  readonly target = input.required<ReferenceTarget>();
  readonly label = input.required<string>();
  /** What the server said of this field, if anything. */
  readonly serverError = input('');
  /** `dynamic` in a filter panel, where no message shows below. */
  readonly subscript = input<'fixed' | 'dynamic'>('fixed');

  protected readonly text = new FormControl<ReferenceOption | string | null>(null);
  protected readonly ids = signal<readonly Id[]>([]);
  /** The matches of what is typed, less the rows already chosen. */
  private readonly search = new ReferenceSearch(
    inject(ReferenceLabels),
    () => this.target(),
    (option) => !this.ids().includes(option.id),
  );
  protected readonly options = this.search.options;
  protected readonly disabled = signal(false);
  protected readonly matcher: ErrorStateMatcher = { isErrorState: () => this.serverError() !== '' };
  private onChange: (value: readonly Id[]) => void = () => undefined;
  private onTouchedCallback: () => void = () => undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.search.stop());
  }

  writeValue(value: readonly Id[] | null): void {
    this.ids.set(value ?? []);
  }

  registerOnChange(fn: (value: readonly Id[]) => void): void {
    this.onChange = fn;
  }

  registerOnTouched(fn: () => void): void {
    this.onTouchedCallback = fn;
  }

  setDisabledState(disabled: boolean): void {
    this.disabled.set(disabled);
  }

  protected onTyping(): void {
    const typed = this.text.value;
    this.search.ask(typeof typed === 'string' ? typed : '');
  }

  protected choose(event: MatAutocompleteSelectedEvent): void {
    const option = event.option.value as ReferenceOption;
    this.text.setValue(null, { emitEvent: false });
    if (!this.ids().includes(option.id)) {
      this.update([...this.ids(), option.id]);
    }
    this.options.set(this.options().filter((o) => o.id !== option.id));
  }

  protected remove(id: Id): void {
    this.update(this.ids().filter((chosen) => chosen !== id));
  }

  protected onBlur(): void {
    this.onTouchedCallback();
    // Typed text that chose nothing does not stay.
    if (typeof this.text.value === 'string') {
      this.text.setValue(null, { emitEvent: false });
    }
  }

  private update(ids: readonly Id[]): void {
    this.ids.set(ids);
    this.onChange(ids);
  }
}
