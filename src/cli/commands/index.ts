import type { Command } from 'commander';
import { register as report } from './report.js';
import { register as datasets } from './datasets.js';

/** Each command file exports `register(program)`; add one line per command here. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [datasets, report];
