// The generated form dialog of the example's budgets, rendered: what it
// closes with tells the list whether a row was saved, and opened from a
// department's panel it references that department.

import { TestBed } from '@angular/core/testing';
import { MAT_DIALOG_DATA, MatDialogRef } from '@angular/material/dialog';
import { describe, expect, it, vi } from 'vitest';

import {
  BudgetFormData,
  BudgetFormDialogComponent,
} from '../app/features/budgets/components/budgets-form.dialog';
import { BudgetStateManager } from '../app/features/budgets/state/budgets-state.manager';
import { httpTestingProviders } from './testing';

/** The dialog opened with `data`, its close recorded. */
function open(data: BudgetFormData): {
  element: HTMLElement;
  close: ReturnType<typeof vi.fn>;
} {
  const close = vi.fn();
  TestBed.configureTestingModule({
    providers: [
      ...httpTestingProviders(),
      BudgetStateManager,
      { provide: MatDialogRef, useValue: { close } },
      { provide: MAT_DIALOG_DATA, useValue: data },
    ],
  });
  const fixture = TestBed.createComponent(BudgetFormDialogComponent);
  fixture.detectChanges();
  return { element: fixture.nativeElement as HTMLElement, close };
}

describe('BudgetFormDialogComponent (generated)', () => {
  it('closes with nothing on Cancel, so the list does not say a budget was saved', () => {
    const { element, close } = open({ item: null, parent: null });
    const buttons = Array.from(element.querySelectorAll('button'));
    const cancel = buttons.find((button) => button.textContent?.trim() === 'Cancel');
    cancel?.click();
    expect(close).toHaveBeenCalledTimes(1);
    expect(close).toHaveBeenCalledWith(undefined);
  });

  it("creates in a department's panel with that department, locked", () => {
    const { element } = open({ item: null, parent: { field: 'department', id: 7 } });
    const department = element.querySelector<HTMLInputElement>(
      '[formcontrolname="department"] input',
    );
    expect(department?.disabled).toBe(true);
    const other = element.querySelector<HTMLInputElement>('[formcontrolname="name"]');
    expect(other?.disabled).toBe(false);
  });
});
