import { Component, signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { By } from '@angular/platform-browser';
import { FormControl, ReactiveFormsModule } from '@angular/forms';
import { describe, expect, it, vi } from 'vitest';

import { ListQuery } from '../business/services/list-query';
import { ViewFields, matchesView } from '../business/services/list-view';
import {
  HeldLabel,
  ReferenceLabels,
  ReferenceOption,
  ReferenceTarget,
} from '../business/services/reference-labels';
import { LinkChipsComponent } from './link-chips';
import { ReferenceListInputComponent } from './reference-list-input';

const TAGS: ReferenceTarget = { feature: 'tags', idField: 'id', labelField: 'name', live: true };

/** Labels held in memory: what the tags' API would answer, renamed at will. */
class FakeLabels {
  readonly names = new Map<number | string, ReturnType<typeof signal<string | null>>>();
  held = 0;

  name(id: number | string): ReturnType<typeof signal<string | null>> {
    let name = this.names.get(id);
    if (name === undefined) {
      name = signal<string | null>(null);
      this.names.set(id, name);
    }
    return name;
  }

  hold(_target: ReferenceTarget, id: number | string): HeldLabel {
    this.held += 1;
    return { label: this.name(id).asReadonly(), release: () => (this.held -= 1) };
  }

  search(): Promise<readonly ReferenceOption[]> {
    const options = [...this.names].map(([id, name]) => ({ id, label: name() ?? String(id) }));
    return Promise.resolve(options);
  }
}

@Component({
  imports: [LinkChipsComponent, ReactiveFormsModule, ReferenceListInputComponent],
  template: `
    <aegis-reference-list-input [formControl]="tags" label="Tags" [target]="target" />
    <aegis-link-chips [ids]="shown()" [target]="target" />
  `,
})
class HostComponent {
  readonly target = TAGS;
  readonly tags = new FormControl<readonly (number | string)[]>([], { nonNullable: true });
  /** What a list's row holds. */
  readonly shown = signal<readonly (number | string)[]>([]);
}

function setUp(): {
  host: HostComponent;
  labels: FakeLabels;
  element: HTMLElement;
  render: () => void;
  options: () => readonly ReferenceOption[];
} {
  const labels = new FakeLabels();
  labels.name(1).set('urgent');
  labels.name(2).set('capital');
  TestBed.configureTestingModule({ providers: [{ provide: ReferenceLabels, useValue: labels }] });
  const fixture = TestBed.createComponent(HostComponent);
  fixture.detectChanges();
  return {
    host: fixture.componentInstance,
    labels,
    element: fixture.nativeElement as HTMLElement,
    render: () => fixture.detectChanges(),
    // What the type-ahead offers (its panel shows them when open).
    options: () => {
      const input = fixture.debugElement.query(By.directive(ReferenceListInputComponent));
      const offered = input.componentInstance as { options: () => readonly ReferenceOption[] };
      return offered.options();
    },
  };
}

const texts = (elements: NodeListOf<Element>): string[] =>
  Array.from(elements).map((e) => e.textContent?.replace('×', '').trim() ?? '');

describe('ReferenceListInputComponent and LinkChipsComponent', () => {
  it('shows a chip per linked row with its label, following renames, and its id while it has none', () => {
    const { host, labels, element, render } = setUp();
    host.tags.setValue([1, 3]);
    host.shown.set([1, 3]);
    render();
    expect(texts(element.querySelectorAll('mat-chip-row'))).toEqual(['urgent', '3']);
    expect(texts(element.querySelectorAll('aegis-link-chips .chip'))).toEqual(['urgent', '3']);
    labels.name(1).set('critical');
    render();
    expect(texts(element.querySelectorAll('aegis-link-chips .chip'))).toEqual(['critical', '3']);
  });

  it('removes a row with its chip button, and lets go of the labels it no longer shows', () => {
    const { host, labels, element, render } = setUp();
    host.tags.setValue([1, 2]);
    render();
    const held = labels.held;
    element.querySelector<HTMLButtonElement>('button[aria-label="Remove urgent"]')?.click();
    render();
    expect(host.tags.value).toEqual([2]);
    expect(texts(element.querySelectorAll('mat-chip-row'))).toEqual(['capital']);
    expect(labels.held).toBeLessThan(held);
  });

  it('shows the answer to the last search, whatever order the answers come in', async () => {
    vi.useFakeTimers();
    try {
      const { labels, element, options } = setUp();
      const answers: ((found: readonly ReferenceOption[]) => void)[] = [];
      labels.search = () => new Promise((resolve) => answers.push(resolve));
      const input = element.querySelector<HTMLInputElement>('mat-chip-grid input');
      const type = (text: string): void => {
        if (input !== null) {
          input.value = text;
          input.dispatchEvent(new Event('input'));
        }
        vi.advanceTimersByTime(300);
      };
      type('u');
      type('ur');
      expect(answers).toHaveLength(2);
      answers[1]([{ id: 1, label: 'urgent' }]);
      await vi.runAllTimersAsync();
      answers[0]([{ id: 2, label: 'unused' }]);
      await vi.runAllTimersAsync();
      expect(options()).toEqual([{ id: 1, label: 'urgent' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is disabled with its control', () => {
    const { host, element, render } = setUp();
    host.tags.disable();
    render();
    expect(element.querySelector('mat-chip-grid')?.classList).toContain(
      'mat-mdc-chip-list-disabled',
    );
  });
});

describe('the view rules of a list of links', () => {
  const FIELDS = {
    tags: { label: 'Tags', kind: 'links', nullable: false, search: false, ops: ['has', 'has_any'] },
  } satisfies ViewFields;
  const view = (op: 'has' | 'has_any', value: string): ListQuery => ({
    page: 1,
    pageSize: 20,
    filters: [{ field: 'tags', op, value }],
  });

  it('keeps the rows holding the id, or one of the ids', () => {
    const row = { id: 1, tags: [3, 4] };
    expect(matchesView(row, view('has', '3'), FIELDS)).toBe(true);
    expect(matchesView(row, view('has', '5'), FIELDS)).toBe(false);
    expect(matchesView(row, view('has_any', '5,4'), FIELDS)).toBe(true);
    expect(matchesView(row, view('has_any', '5,6'), FIELDS)).toBe(false);
    expect(matchesView({ id: 2, tags: [] }, view('has', '3'), FIELDS)).toBe(false);
  });

  it('leaves to the server an id it would refuse', () => {
    expect(matchesView({ id: 1, tags: [3] }, view('has', 'x'), FIELDS)).toBeNull();
  });

  it('compares text ids as text', () => {
    const row = { id: 1, tags: ['a-1', 'b-2'] };
    expect(matchesView(row, view('has', 'b-2'), FIELDS)).toBe(true);
    expect(matchesView(row, view('has', 'c-3'), FIELDS)).toBe(false);
  });
});
