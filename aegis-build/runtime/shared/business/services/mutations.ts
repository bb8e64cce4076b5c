import { MUTATION_ID_HEADER } from '../models/aegis-protocol.types';

// Declared in Rust (aegis-protocol) and generated; here for the runtime's importers.
export { MUTATION_ID_HEADER };

/** A fresh client mutation id. */
export function newMutationId(): string {
  return crypto.randomUUID();
}

/**
 * The mutation ids of a client's own changes, so that their echoes are
 * known; past `limit`, the oldest are forgotten.
 */
export class OwnMutations {
  readonly #ids = new Set<string>();

  constructor(private readonly limit: number) {}

  /** A fresh id, remembered. */
  remember(): string {
    const id = newMutationId();
    this.#ids.add(id);
    if (this.#ids.size > this.limit) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) {
        this.#ids.delete(oldest);
      }
    }
    return id;
  }

  /** How many of ours have not come back yet. */
  get outstanding(): number {
    return this.#ids.size;
  }

  /** Whether `id` is one of ours; it is forgotten either way (an echo comes once). */
  take(id: string): boolean {
    return this.#ids.delete(id);
  }
}
