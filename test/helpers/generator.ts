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
