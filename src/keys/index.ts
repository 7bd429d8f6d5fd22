/**
 * Records keyed by a user's names (sequence names, label and mask names, subject ids). A plain
 * object answers `rec['constructor']` and `rec['toString']` with Object.prototype's functions and
 * treats `rec['__proto__'] = v` as a prototype change, so a sequence named `constructor` would be
 * "present" in every subject and one named `__proto__` would vanish. Every lookup by such a name
 * goes through own(), every record built from such names through dict(). Browser-safe.
 */

/** An object without a prototype: every key, `__proto__` included, is an ordinary own key. */
export function dict<V>(entries?: Iterable<readonly [string, V]>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  if (entries) for (const [k, v] of entries) out[k] = v;
  return out;
}

/** Whether `rec` holds `key` itself (never through Object.prototype). */
export function hasOwnKey(rec: object | null | undefined, key: string): boolean {
  return rec !== null && rec !== undefined && Object.prototype.hasOwnProperty.call(rec, key);
}

/** rec[key] when rec holds key itself, else undefined. */
export function own<V>(
  rec: Readonly<Partial<Record<string, V>>> | null | undefined,
  key: string,
): V | undefined {
  return hasOwnKey(rec, key) ? (rec as Record<string, V>)[key] : undefined;
}

/**
 * The same entries in an ordinary object (what the public API hands out, so deep equality and
 * Object.prototype's methods work): keys are defined, never assigned, so `__proto__` stays a key.
 */
export function plain<V>(rec: Readonly<Record<string, V>>): Record<string, V> {
  return Object.fromEntries(Object.entries(rec));
}
