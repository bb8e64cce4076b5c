import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  effect,
  forwardRef,
  inject,
  input,
  signal,
  untracked,
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
import { ErrorStateMatcher } from '@angular/material/core';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';

import {
  ReferenceLabels,
  ReferenceOption,
  ReferenceSearch,
  ReferenceTarget,
} from '../business/services/reference-labels';

/**
 * Picks a referenced row by typing part of its label: the matches come
 * from the referenced module's API, a page at a time; the control's value
 * is the chosen row's id.
 */
@Component({
  selector: 'aegis-reference-input',
  imports: [MatAutocompleteModule, MatFormFieldModule, MatInputModule, ReactiveFormsModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  providers: [
    {
      provide: NG_VALUE_ACCESSOR,
      useExisting: forwardRef(() => ReferenceInputComponent),
      multi: true,
    },
  ],
  template: `
    <mat-form-field class="field">
      <mat-label>{{ label() }}</mat-label>
      <input
        matInput
        [formControl]="text"
        [matAutocomplete]="auto"
        [errorStateMatcher]="matcher"
        [attr.aria-label]="label()"
        (input)="onTyping()"
        (focus)="onTyping()"
        (blur)="onBlur()"
      />
      <mat-autocomplete
        #auto="matAutocomplete"
        [displayWith]="display"
        (optionSelected)="choose($event)"
      >
        @if (nullable()) {
          <mat-option [value]="null">—</mat-option>
        }
        @for (option of options(); track option.id) {
          <mat-option [value]="option">{{ option.label }}</mat-option>
        }
      </mat-autocomplete>
      @if (message(); as message) {
        <mat-error>{{ message }}</mat-error>
      }
    </mat-form-field>
  `,
  styles: `
    .field {
      width: 100%;
    }
  `,
})
export class ReferenceInputComponent implements ControlValueAccessor {
  private readonly labels = inject(ReferenceLabels);
  readonly target = input.required<ReferenceTarget>();
  readonly label = input.required<string>();
  readonly nullable = input(false);
  /** Whether the form was touched: a required reference then says it is missing. */
  readonly touched = input(false);
  /** What the server said of this field, if anything. */
  readonly serverError = input('');

  protected readonly text = new FormControl<ReferenceOption | string | null>(null);
  private readonly search = new ReferenceSearch(this.labels, () => this.target());
  protected readonly options = this.search.options;
  protected readonly matcher: ErrorStateMatcher = { isErrorState: () => this.message() !== null };
  private readonly valueSignal = signal<number | string | null>(null);
  private chosen: ReferenceOption | null = null;
  private blurred = false;
  private onChange: (value: number | string | null) => void = () => undefined;
  private onTouchedCallback: () => void = () => undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.search.stop());
    // The chosen row's label as read, and as it changes live; not while typing.
    effect((onCleanup) => {
      const id = this.valueSignal();
      if (id === null) {
        return;
      }
      const held = this.labels.hold(this.target(), id);
      onCleanup(held.release);
      const label = held.label();
      untracked(() => {
        if (typeof this.text.value !== 'string') {
          this.chosen = { id, label: label ?? String(id) };
          this.text.setValue(this.chosen, { emitEvent: false });
        }
      });
    });
  }

  private get value(): number | string | null {
    return this.valueSignal();
  }

  protected readonly display = (option: ReferenceOption | string | null): string =>
    option === null ? '' : typeof option === 'string' ? option : option.label;

  protected message(): string | null {
    if (this.serverError() !== '') {
      return this.serverError();
    }
    const missing = !this.nullable() && this.value === null;
    return missing && (this.touched() || this.blurred) ? `${this.label()} is required` : null;
  }

  writeValue(value: number | string | null): void {
    this.chosen = null;
    this.text.setValue(null, { emitEvent: false });
    this.valueSignal.set(value ?? null);
  }

  registerOnChange(fn: (value: number | string | null) => void): void {
    this.onChange = fn;
  }

  registerOnTouched(fn: () => void): void {
    this.onTouchedCallback = fn;
  }

  setDisabledState(disabled: boolean): void {
    if (disabled) {
      this.text.disable({ emitEvent: false });
    } else {
      this.text.enable({ emitEvent: false });
    }
  }

  protected onTyping(): void {
    const typed = this.text.value;
    this.search.ask(typeof typed === 'string' ? typed : '');
  }

  protected choose(event: MatAutocompleteSelectedEvent): void {
    const option = event.option.value as ReferenceOption | null;
    this.chosen = option;
    this.valueSignal.set(option?.id ?? null);
    this.onChange(this.value);
  }

  protected onBlur(): void {
    this.blurred = true;
    this.onTouchedCallback();
    // Typed text that chose nothing does not stay: the value is the last choice.
    if (typeof this.text.value === 'string') {
      this.text.setValue(this.chosen, { emitEvent: false });
    }
  }
}
