/**
 * A least-recently-used cache bounded in bytes, with in-flight loads shared, so lazy per-subject
 * loading stays within a memory budget however large the cohort is. `maxBytes` is the budget and
 * `sizeOf` gives an item's size in bytes (a Volume: `v.data.byteLength`). Storing evicts the least
 * recently used items until the total fits; an item larger than the whole budget is handed out
 * but not kept (each getOrLoad loads it again). A failed load is not cached.
 * @example
 * ```ts
 * import { ByteLruCache } from 'mriseq/browser';
 * const cache = new ByteLruCache<Float32Array>(8, (v) => v.byteLength); // 8 bytes: two float32 values
 * cache.set('a', new Float32Array(1));
 * cache.set('b', new Float32Array(1));
 * cache.get('a'); // a is now the most recently used
 * cache.set('c', new Float32Array(1)); // over budget: b goes
 * console.log(cache.size, cache.bytes, cache.has('a'), cache.has('b')); // 2 8 true false
 * let loads = 0;
 * const load = async () => (loads++, new Float32Array(2));
 * await Promise.all([cache.getOrLoad('d', load), cache.getOrLoad('d', load)]);
 * console.log(loads, cache.has('d'), cache.size); // 1 true 1
 * ```
 */
export class ByteLruCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private readonly pending = new Map<string, Promise<V>>();
  private used = 0;
  // Bumped by clear(): a load started before a clear must not store its value after it.
  private generation = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V): void {
    const bytes = this.sizeOf(value);
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    // An item larger than the whole budget is handed out but not kept.
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }

  /** The cached value, or the one being loaded, or a new load (shared by concurrent callers). */
  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const p = load().then(
      (v) => {
        if (generation !== this.generation) return v;
        this.pending.delete(key);
        this.set(key, v);
        return v;
      },
      (e: unknown) => {
        if (generation === this.generation) this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, p);
    return p;
  }

  /** Empties the cache; loads in flight still resolve for their callers but are not kept. */
  clear(): void {
    this.entries.clear();
    this.pending.clear();
    this.generation++;
    this.used = 0;
  }
}
