import type { Command } from 'commander';
import { register as report } from './report.js';
import { register as datasets } from './datasets.js';
import { register as run } from './run.js';
import { register as demo } from './demo.js';
import { register as evalCmd } from './eval.js';
import { register as bounds } from './bounds.js';
import { register as models } from './models.js';
import { register as check } from './check.js';
import { register as compare } from './compare.js';
import { register as exportCmd } from './export.js';
import { register as score } from './score.js';
import { register as merge } from './merge.js';

/** Each command file exports `register(program)`; add one line per command here. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  run,
  demo,
  datasets,
  report,
  evalCmd,
  bounds,
  models,
  check,
  compare,
  exportCmd,
  score,
  merge,
];
