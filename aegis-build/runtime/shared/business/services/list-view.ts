import { FilterOp, ListFilter, ListQuery } from './list-query';

/** How a field is filtered, searched and ordered, by its type. */
export type ViewKind =
  | 'number'
  | 'boolean'
  | 'text'
  | 'enum'
  | 'instant'
  | 'date'
  | 'time'
  | 'local-datetime'
  | 'reference'
  | 'links'
  | 'file';

/** One field of a list's view: a column of its table. */
export interface ViewField {
  readonly label: string;
  readonly kind: ViewKind;
  readonly nullable: boolean;
  /** The server's `q` looks for its text in it. */
  readonly search: boolean;
  /**
   * The filter operators the server takes for it, as aegis-protocol
   * decides them for its stored kind (generated): the filter panel offers
   * these alone.
   */
  readonly ops: readonly FilterOp[];
  /** An enum's values. */
  readonly options?: readonly string[];
}

/** A feature's view fields, by JSON name (generated as `<ENTITY>_VIEW_FIELDS`). */
export type ViewFields = Readonly<Record<string, ViewField>>;

/** What a list shows: a query over entities, and how to read them. */
export interface ListView<T> {
  readonly query: ListQuery;
  readonly fields: ViewFields;
  readonly idOf: (item: T) => number | string;
}

/** One loaded page and the view's total. */
export interface PageState<T> {
  readonly items: readonly T[];
  readonly total: number;
}

/**
 * A page after a change: `stale` when the client cannot tell what a fresh
 * load of the same query would show (a row may have entered or left
 * another page), so the page must be read again. The items are then the
 * rows it is sure of: never one a fresh load would not show.
 */
export interface PageResult<T> extends PageState<T> {
  readonly stale: boolean;
}

/** A row created or updated (its new state), or deleted (its id). */
export type RowChange<T> =
  | { readonly kind: 'created' | 'updated'; readonly item: T }
  | { readonly kind: 'deleted'; readonly id: number | string };

/** `a` against `b` by code point, as SQLite's BINARY and PostgreSQL's `COLLATE "C"` order text. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // A surrogate (an astral code point) sorts after every BMP unit.
      const surrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdfff;
      if (surrogate(x) !== surrogate(y)) {
        return surrogate(x) ? 1 : -1;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function valueOf<T>(item: T, name: string): unknown {
  return (item as Record<string, unknown>)[name];
}

/** Two present values of a field, in the server's order. */
function compareValues(a: unknown, b: unknown, field: ViewField): number {
  switch (field.kind) {
    case 'number':
      return Number(a) - Number(b);
    case 'boolean':
      return Number(a === true) - Number(b === true);
    case 'instant':
      return Date.parse(String(a)) - Date.parse(String(b));
    case 'enum':
      // Stored as JSON text: ordered as that text.
      return compareCodePoints(JSON.stringify(a), JSON.stringify(b));
    case 'reference':
      return typeof a === 'number' && typeof b === 'number'
        ? a - b
        : compareCodePoints(String(a), String(b));
    default:
      return compareCodePoints(String(a), String(b));
  }
}

/** A filter's value as the field's, or `null` when it is not one (the server would answer 400). */
function parseValue(raw: string, field: ViewField, sample: unknown): unknown {
  switch (field.kind) {
    case 'number': {
      const number = raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(number) ? number : null;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : null;
    case 'instant':
      return Number.isNaN(Date.parse(raw)) ? null : raw;
    case 'reference': {
      if (typeof sample !== 'number') {
        return raw;
      }
      const number = Number(raw);
      return raw.trim() !== '' && Number.isInteger(number) ? number : null;
    }
    default:
      return raw;
  }
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/**
 * `has` and `has_any` on a list of linked ids: whether it holds one of the
 * ids; `null` for an id the server would refuse (text where ids are numbers).
 */
function holds(value: unknown, filter: ListFilter): boolean | null {
  const ids: readonly unknown[] = Array.isArray(value) ? value : [];
  const wanted = filter.op === 'has_any' ? filter.value.split(',') : [filter.value];
  let found = false;
  for (const raw of wanted) {
    if (typeof ids[0] === 'number') {
      const number = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(number)) {
        return null;
      }
      found ||= ids.includes(number);
    } else {
      found ||= ids.includes(raw);
    }
  }
  return found;
}

/** One filter on a value: `null` when only the server can tell. */
function passes(value: unknown, filter: ListFilter, field: ViewField): boolean | null {
  if (filter.op === 'has' || filter.op === 'has_any') {
    return holds(value, filter);
  }
  if (filter.op === 'empty') {
    return isAbsent(value) === (filter.value === 'true');
  }
  if (isAbsent(value)) {
    return false;
  }
  if (filter.op === 'contains') {
    const text = String(value);
    // SQLite ignores the case of ASCII letters only, PostgreSQL of every
    // letter: where the two differ, ask the server.
    const ascii = asciiLower(text).includes(asciiLower(filter.value));
    const full = text.toLowerCase().includes(filter.value.toLowerCase());
    return ascii === full ? ascii : null;
  }
  const values = filter.op === 'in' ? filter.value.split(',') : [filter.value];
  let decided = false;
  for (const raw of values) {
    const parsed = parseValue(raw, field, value);
    if (parsed === null) {
      return null;
    }
    const order = compareValues(value, parsed, field);
    const pass =
      filter.op === 'gt'
        ? order > 0
        : filter.op === 'gte'
          ? order >= 0
          : filter.op === 'lt'
            ? order < 0
            : filter.op === 'lte'
              ? order <= 0
              : order === 0;
    decided ||= pass;
  }
  return decided;
}

/** `q` as the server searches it: control characters as spaces, trimmed, lower case. */
export function searchText(q: string | undefined): string {
  return (q ?? '')
    .replace(/\p{Cc}/gu, ' ')
    .trim()
    .toLowerCase();
}

/**
 * Whether a row is in the view (passes its search and every filter), as
 * the server decides it; `null` when the client cannot tell.
 */
export function matchesView<T>(item: T, query: ListQuery, fields: ViewFields): boolean | null {
  const q = searchText(query.q);
  if (q !== '') {
    const found = Object.entries(fields).some(([name, field]) => {
      const value = valueOf(item, name);
      return field.search && typeof value === 'string' && value.toLowerCase().includes(q);
    });
    if (!found) {
      return false;
    }
  }
  let decided: boolean | null = true;
  for (const filter of query.filters ?? []) {
    const field = fields[filter.field];
    if (field === undefined) {
      decided = null;
      continue;
    }
    const pass = passes(valueOf(item, filter.field), filter, field);
    if (pass === false) {
      return false;
    }
    if (pass === null) {
      decided = null;
    }
  }
  return decided;
}

function compareIds(a: number | string, b: number | string): number {
  return typeof a === 'number' && typeof b === 'number'
    ? a - b
    : compareCodePoints(String(a), String(b));
}

/**
 * `a` against `b` in the view's order (`null` first ascending, last
 * descending, ties by id ascending), or `null` for a sort the client does
 * not know.
 */
export function compareInView<T>(a: T, b: T, view: ListView<T>): number | null {
  const sort = view.query.sort;
  if (sort !== undefined && sort !== '') {
    const descending = sort.startsWith('-');
    const name = descending ? sort.slice(1) : sort;
    const field = view.fields[name];
    if (field === undefined) {
      return null;
    }
    const x = valueOf(a, name);
    const y = valueOf(b, name);
    const order =
      isAbsent(x) && isAbsent(y)
        ? 0
        : isAbsent(x)
          ? -1
          : isAbsent(y)
            ? 1
            : compareValues(x, y, field);
    if (order !== 0) {
      return descending ? -order : order;
    }
  }
  return compareIds(view.idOf(a), view.idOf(b));
}

/** Where `item` goes among `items` (sorted), or `null` when the order is unknown. */
function insertionIndex<T>(item: T, items: readonly T[], view: ListView<T>): number | null {
  for (let i = 0; i < items.length; i++) {
    const order = compareInView(item, items[i], view);
    if (order === null) {
      return null;
    }
    if (order < 0) {
      return i;
    }
  }
  return items.length;
}

function unfiltered(query: ListQuery): boolean {
  return searchText(query.q) === '' && (query.filters ?? []).length === 0;
}

function sameId(a: number | string, b: number | string): boolean {
  return a === b || String(a) === String(b);
}

/**
 * A page after a change, as a fresh load of the same query would show it
 * where the client can tell: a row that matches and falls on this page
 * appears in order, one that stops matching leaves, the total follows; a
 * row that may enter or leave through another page makes the page stale.
 */
export function applyToPage<T>(
  view: ListView<T>,
  page: PageState<T>,
  change: RowChange<T>,
): PageResult<T> {
  const { query } = view;
  const start = (query.page - 1) * query.pageSize;
  const hasBefore = query.page > 1;
  const hasAfter = page.total > start + page.items.length;
  const id = change.kind === 'deleted' ? change.id : view.idOf(change.item);
  const index = page.items.findIndex((item) => sameId(view.idOf(item), id));
  const rest = index < 0 ? page.items : page.items.filter((_, i) => i !== index);
  const same = (stale: boolean): PageResult<T> => ({ ...page, stale });

  if (change.kind === 'deleted') {
    if (index >= 0) {
      return { items: rest, total: Math.max(0, page.total - 1), stale: hasAfter };
    }
    // Not loaded: in the view only if everything is; before this page, or after it.
    if (unfiltered(query)) {
      return { items: page.items, total: Math.max(0, page.total - 1), stale: hasBefore };
    }
    return same(true);
  }

  const item = change.item;
  const matches = matchesView(item, query, view.fields);
  if (index >= 0) {
    if (matches === false) {
      return { items: rest, total: Math.max(0, page.total - 1), stale: hasAfter };
    }
    if (matches === null) {
      return { items: rest, total: page.total, stale: true };
    }
    const unmoved = compareInView(page.items[index], item, view);
    if (unmoved === 0 || unmoved === null) {
      const items = page.items.map((old, i) => (i === index ? item : old));
      return { items, total: page.total, stale: unmoved === null };
    }
    const at = insertionIndex(item, rest, view);
    if (at === null || (at === 0 && hasBefore) || (at === rest.length && hasAfter)) {
      // It may belong to another page now.
      return { items: rest, total: page.total, stale: true };
    }
    return {
      items: [...rest.slice(0, at), item, ...rest.slice(at)],
      total: page.total,
      stale: false,
    };
  }

  if (change.kind === 'updated') {
    // Not loaded: whether it was in the view, and where, is unknown,
    // except without filters and in id order, where nothing moved.
    const idOrder = query.sort === undefined || query.sort === '';
    return same(!(unfiltered(query) && idOrder && matches === true));
  }
  if (matches === false) {
    return same(false);
  }
  if (matches === null) {
    return same(true);
  }
  const total = page.total + 1;
  const at = insertionIndex(item, page.items, view);
  if (at === null || (at === 0 && hasBefore)) {
    return { items: page.items, total, stale: true };
  }
  if (at === page.items.length && page.items.length >= query.pageSize) {
    // After this page: on a later one.
    return { items: page.items, total, stale: false };
  }
  const items = [...page.items.slice(0, at), item, ...page.items.slice(at)];
  return {
    items: items.slice(0, query.pageSize),
    total,
    stale: at === page.items.length && hasAfter,
  };
}

/**
 * When a page that may be stale is read again: once its changes pause for
 * `quietMs`, and at the latest `maxMs` after the first of them, so that a
 * stream that never pauses cannot keep the page stale.
 */
export class StaleRefresh {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline: number | null = null;

  constructor(
    private readonly quietMs: number,
    private readonly maxMs: number,
    private readonly refresh: () => void,
  ) {}

  /** The page may be stale from now. */
  mark(): void {
    const now = Date.now();
    this.#deadline ??= now + this.maxMs;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.cancel();
        this.refresh();
      },
      Math.max(0, Math.min(this.quietMs, this.#deadline - now)),
    );
  }

  /** Whether a read is waiting for the events to settle. */
  get marked(): boolean {
    return this.#timer !== undefined;
  }

  /** A read of the page started: whatever was marked, it will show. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = null;
  }
}
