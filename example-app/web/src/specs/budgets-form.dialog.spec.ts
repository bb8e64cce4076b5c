// The generated form dialog of the example's budgets, rendered: what it
// closes with tells the list whether a row was saved.

import { TestBed } from '@angular/core/testing';
import { MAT_DIALOG_DATA, MatDialogRef } from '@angular/material/dialog';
import { describe, expect, it, vi } from 'vitest';

import { BudgetFormDialogComponent } from '../app/features/budgets/components/budgets-form.dialog';
import { BudgetStateManager } from '../app/features/budgets/state/budgets-state.manager';
import { httpTestingProviders } from './testing';

describe('BudgetFormDialogComponent (generated)', () => {
  it('closes with nothing on Cancel, so the list does not say a budget was saved', () => {
    const close = vi.fn();
    TestBed.configureTestingModule({
      providers: [
        ...httpTestingProviders(),
        BudgetStateManager,
        { provide: MatDialogRef, useValue: { close } },
        { provide: MAT_DIALOG_DATA, useValue: { item: null } },
      ],
    });
    const fixture = TestBed.createComponent(BudgetFormDialogComponent);
    fixture.detectChanges();
    const buttons: HTMLButtonElement[] = Array.from(
      fixture.nativeElement.querySelectorAll('button'),
    );
    const cancel = buttons.find((button) => button.textContent?.trim() === 'Cancel');
    cancel?.click();
    expect(close).toHaveBeenCalledTimes(1);
    expect(close).toHaveBeenCalledWith(undefined);
  });
});
