// tsc does not keep the executable bit: make the CLI entry runnable, so that
// `npx shiftbench` works right after `npm install` in a fresh clone.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/index.js', import.meta.url), 0o755);
