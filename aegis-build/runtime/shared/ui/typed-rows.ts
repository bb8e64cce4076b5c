import { Directive, input } from '@angular/core';

/**
 * Types a table's cell templates by its rows: `*matCellDef="let row; rows:
 * rows()"` makes `row` a `T` in the template (Material's own cell
 * definition leaves it `any`), so a cell that names a field the row lacks
 * fails the build.
 */
// eslint-disable-next-line @angular-eslint/directive-selector -- it joins Material's `matCellDef` microsyntax
@Directive({ selector: '[matCellDef][matCellDefRows]' })
export class TypedRowsDirective<T> {
  /** The table's rows: only their type is used. */
  readonly matCellDefRows = input.required<readonly T[]>();

  static ngTemplateContextGuard<T>(
    _directive: TypedRowsDirective<T>,
    _context: unknown,
  ): _context is { $implicit: T } {
    return true;
  }
}
