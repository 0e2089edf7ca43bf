import { ShiftbenchError, type ErrorCode } from './errors.js';

/**
 * A named table of factories (detectors, mitigations, decoders, datasets…). Lookups
 * of a missing key throw an error naming the registry and listing what it holds.
 */
export class Registry<T> {
  private readonly items = new Map<string, T>();
  constructor(
    readonly registryName: string,
    private readonly errorCode: ErrorCode = 'ERR_INVALID_OPTION',
  ) {}

  register(key: string, item: T): this {
    if (this.items.has(key)) {
      throw new ShiftbenchError('ERR_INTERNAL', `${this.registryName} registry already has an entry named "${key}"`);
    }
    this.items.set(key, item);
    return this;
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  get(key: string): T {
    const item = this.items.get(key);
    if (item === undefined) {
      const known = [...this.items.keys()].sort();
      throw new ShiftbenchError(
        this.errorCode,
        `Unknown ${this.registryName} "${key}". Available: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
    return item;
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  entries(): [string, T][] {
    return [...this.items.entries()];
  }
}
