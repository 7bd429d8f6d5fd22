/** The smallest generator the tests train and compare: every layer kind, a few hundred parameters. */
import type { Seq2SeqConfig } from '../../src/model/index.js';

export const TINY_GENERATOR: Partial<Seq2SeqConfig> = {
  cEnc: [4, 6, 8],
  cLstm: 8,
  cDec: [6, 4, 1],
  nresEnc: 1,
  nresDec: 1,
  cS: 4,
  cW: 3,
  seed: 3,
};

/** A lite generator small enough to train a few steps in seconds yet big enough to take measurable time per step (666,016 parameters with four sequences): what interrupt and training tests stop in the middle of. */
export const SMALL_GENERATOR: Partial<Seq2SeqConfig> = {
  cEnc: [8, 16, 32],
  cLstm: 32,
  cDec: [16, 8, 1],
  nresEnc: 1,
  nresDec: 1,
};
