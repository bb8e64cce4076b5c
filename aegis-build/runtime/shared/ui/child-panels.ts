import { NgComponentOutlet } from '@angular/common';
import {
  ChangeDetectionStrategy,
  Component,
  Injector,
  Type,
  computed,
  effect,
  inject,
  input,
  signal,
  untracked,
} from '@angular/core';
import { MatProgressBarModule } from '@angular/material/progress-bar';

import { PARENT_ROW, ParentRow } from '../business/services/list-location';

/**
 * The rows of another module that reference a row, shown on that row's
 * page: a title, the referencing field, and the list component, loaded when
 * first shown (a feature's list is code the parent's page need not carry).
 */
export interface ChildPanel {
  readonly title: string;
  /** The referencing field's JSON name. */
  readonly field: string;
  readonly load: () => Promise<Type<unknown>>;
}

/** One panel: its title, and the child module's own list kept to the parent's rows. */
@Component({
  selector: 'aegis-child-panel',
  imports: [MatProgressBarModule, NgComponentOutlet],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h3>{{ panel().title }}</h3>
    @if (component(); as component) {
      <ng-container *ngComponentOutlet="component; injector: injector()" />
    } @else if (failed()) {
      <p class="error" role="alert">The {{ panel().title }} could not be loaded.</p>
    } @else {
      <mat-progress-bar mode="indeterminate" />
    }
  `,
  styles: `
    :host {
      display: block;
      border-top: 1px solid var(--mat-sys-outline-variant);
    }
    h3 {
      margin: 16px 16px 0;
      font: var(--mat-sys-title-medium);
    }
    .error {
      margin: 8px 16px;
      color: var(--mat-sys-error);
    }
  `,
})
export class ChildPanelComponent {
  readonly panel = input.required<ChildPanel>();
  readonly parentId = input.required<string | number>();
  private readonly parentInjector = inject(Injector);
  protected readonly component = signal<Type<unknown> | null>(null);
  protected readonly failed = signal(false);
  /** What the child list reads its parent from. */
  protected readonly injector = computed(() => {
    const parent: ParentRow = { field: this.panel().field, id: this.parentId() };
    return Injector.create({
      providers: [{ provide: PARENT_ROW, useValue: parent }],
      parent: this.parentInjector,
    });
  });

  constructor() {
    effect(() => {
      const load = this.panel().load;
      untracked(() => {
        load().then(
          (component) => this.component.set(component),
          () => this.failed.set(true),
        );
      });
    });
  }
}

/** Every panel of a row's children, one below the other. */
@Component({
  selector: 'aegis-child-panels',
  imports: [ChildPanelComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @for (panel of panels(); track panel) {
      <aegis-child-panel [panel]="panel" [parentId]="parentId()" />
    }
  `,
})
export class ChildPanelsComponent {
  readonly panels = input.required<readonly ChildPanel[]>();
  readonly parentId = input.required<string | number>();
}
