/** A lite generator small enough to train a few steps in a test in seconds (666,016 parameters with four sequences). */
import type { Seq2SeqConfig } from '../../src/model/index.js';

export const TINY_GENERATOR: Partial<Seq2SeqConfig> = {
  cEnc: [8, 16, 32],
  cLstm: 32,
  cDec: [16, 8, 1],
  nresEnc: 1,
  nresDec: 1,
};
