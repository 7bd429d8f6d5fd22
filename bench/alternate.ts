/**
 * Turn-taking timing of one workload against a baseline (PyTorch) for `npm run bench`.
 *
 * On this shared 2-core VM both sides' speed drifts by 30% or more within a minute, so timing all
 * of one side and then all of the other measured that drift as often as any difference between
 * them. The sides take turns instead, and the ratio is taken turn by turn. A turn is one untimed
 * repetition, then `turn` timed ones, and at least `turnMs` of them: right after the other side ran
 * (or after an idle pause) a few-ms convolution took 1.5-3x its hot time on both sides, so short
 * workloads repeat until thread pools and caches are hot again and that start is diluted.
 */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The baseline: runs `warm` untimed and `reps` timed repetitions of its case, ms each. */
export interface Opponent {
  time(reps: number, warm: number): Promise<number[]>;
}

export interface AlternateOptions {
  /** Timed repetitions asked for (the turns are ceil(reps / turn)). */
  reps: number;
  /** Untimed repetitions before the first turn. */
  warm: number;
  /** Repetitions per turn (3). */
  turn?: number;
  /** Least timed work per turn, ms (250). */
  turnMs?: number;
  /**
   * Pause between the sides, ms (5): idle OpenMP threads (libgomp spins ~300,000 times before
   * sleeping) and Eigen workers keep spinning for a few ms after their side stops.
   */
  switchMs?: number;
  /** Clock and pause, replaceable for tests. */
  now?: () => number;
  pause?: (ms: number) => Promise<void>;
}

export interface AlternateResult {
  /** This side's timed repetitions, ms. */
  mine: number[];
  /** The opponent's timed repetitions, ms (empty without an opponent). */
  theirs: number[];
  /** Per turn: median of this side's turn / median of the opponent's turn right after it. */
  turnRatios: number[];
  /** Timed repetitions per turn actually used. */
  perTurn: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function alternate(
  step: () => void | Promise<void>,
  opponent: Opponent | undefined,
  o: AlternateOptions,
): Promise<AlternateResult> {
  if (!(Number.isInteger(o.reps) && o.reps > 0))
    throw new Error(`reps must be a positive integer, got ${o.reps}`);
  const now = o.now ?? (() => performance.now());
  const pause = o.pause ?? sleep;
  const turn = Math.min(o.turn ?? 3, o.reps);
  const turnMs = o.turnMs ?? 250;
  const switchMs = o.switchMs ?? 5;
  const timed = async () => {
    const t0 = now();
    await step();
    return now() - t0;
  };
  const warm: number[] = [];
  for (let i = 0; i < Math.min(o.warm, o.reps); i++) warm.push(await timed());
  const hot = warm.length ? Math.min(...warm) : turnMs;
  const perTurn = Math.max(turn, Math.ceil(turnMs / Math.max(hot, 1e-3)));
  const mine: number[] = [];
  const theirs: number[] = [];
  const turnRatios: number[] = [];
  for (let done = 0; done < o.reps; done += turn) {
    // the first turn follows the warm-up directly; later ones re-warm after the opponent's turn
    if (done > 0) await step();
    const m: number[] = [];
    for (let i = 0; i < perTurn; i++) m.push(await timed());
    mine.push(...m);
    if (opponent) {
      await pause(switchMs);
      const t = await opponent.time(perTurn, 1);
      theirs.push(...t);
      turnRatios.push(median(m) / median(t));
      await pause(switchMs);
    }
  }
  return { mine, theirs, turnRatios, perTurn };
}
