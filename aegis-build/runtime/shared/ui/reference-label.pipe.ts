import { OnDestroy, Pipe, PipeTransform, Signal, inject, signal } from '@angular/core';

import { ReferenceLabels, ReferenceTarget } from '../business/services/reference-labels';

const NO_LABEL: Signal<string | null> = signal(null).asReadonly();

/**
 * A referenced row's label, kept current: `(row.department | referenceLabel:
 * references.department)()`. Each use holds its label while it shows it
 * and lets go when the row changes or leaves the page, so the labels a tab
 * keeps are those on screen, not every one it has ever shown.
 */
@Pipe({ name: 'referenceLabel' })
export class ReferenceLabelPipe implements PipeTransform, OnDestroy {
  readonly #labels = inject(ReferenceLabels);
  #release: (() => void) | null = null;

  transform(
    id: number | string | null | undefined,
    target: ReferenceTarget,
  ): Signal<string | null> {
    this.#release?.();
    this.#release = null;
    if (id === null || id === undefined) {
      return NO_LABEL;
    }
    const held = this.#labels.hold(target, id);
    this.#release = held.release;
    return held.label;
  }

  ngOnDestroy(): void {
    this.#release?.();
    this.#release = null;
  }
}
