/**
 * `import { check } from 'teach'`: the exercise checks of the teaching notebooks, offered by the
 * site's kernel beside 'mriseq'. A check answers "not answered yet", "correct" or a hint, never
 * an error, as one output of the cell (through mriseq's display transport).
 */
import { escapeHtml, type DisplayTransport } from '../../src/display/core.js';

const TRANSPORT_KEY = Symbol.for('mriseq.display.transport');

function say(text: string, color: string): void {
  const t = (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY] as DisplayTransport | undefined;
  const html = `<div style="font-family:monospace;white-space:pre-wrap;color:${color}">${escapeHtml(text)}</div>`;
  if (!t?.send({ data: { 'text/html': html, 'text/plain': text } })) console.log(text);
}

export interface CheckOptions {
  /** Said when the answer is right. */
  ok?: string;
  /** Said when it is not. */
  hint?: string;
}

/**
 * An exercise's check: `answer` null or undefined means not answered yet; otherwise `test(answer)`
 * decides. It shows its verdict and returns nothing (so the cell shows no result).
 */
export function check<T>(
  answer: T | null | undefined,
  test: (a: T) => unknown,
  options: CheckOptions = {},
): void {
  if (answer === undefined || answer === null) {
    say('exercise not answered yet: fill in the cell above and run this cell again', '#a60');
    return;
  }
  let good = false;
  try {
    good = Boolean(test(answer));
  } catch (e) {
    say(`your answer raised: ${e instanceof Error ? e.message : String(e)}`, '#b00');
    return;
  }
  say(
    good ? `\u2714 ${options.ok ?? 'correct!'}` : `\u2718 ${options.hint ?? 'not quite: try again'}`,
    good ? '#070' : '#b00',
  );
}
