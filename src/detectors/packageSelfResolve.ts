/**
 * Lets a plug-in file that lives outside the shiftbench package write
 * `import { definePlugin } from 'shiftbench/plugin'` (or `from 'shiftbench'`): before the
 * first plug-in is imported, a module-resolution hook is registered that resolves those
 * two specifiers to the modules of the shiftbench that is running — so a plug-in is
 * checked by, and runs against, the tool that loads it, wherever the file is and whether
 * or not a copy of shiftbench is installed beside it. Other specifiers are untouched.
 * Needs `module.register` (Node ≥ 20.6); on older Node nothing is registered and the
 * plug-in must be able to resolve `shiftbench` itself (e.g. `npm install shiftbench`).
 */
import nodeModule from 'node:module';

/** The hook, as an ES module in a data: URL (no file to ship or find at run time). */
const HOOKS_SOURCE = `
let targets = {};
export function initialize(data) { targets = data; }
export async function resolve(specifier, context, next) {
  const url = targets[specifier];
  // resolved by the rest of the chain, so a loader in front of Node (tsx when run from source) sees it too
  return next(url === undefined ? specifier : url, context);
}
`;

let registered = false;

/**
 * Registers the hook once per process (later calls do nothing). Returns true when the
 * hook is in place.
 */
export function resolvePackageImportsToThisTool(): boolean {
  if (registered) return true;
  const register = (nodeModule as { register?: (specifier: string, options?: { data?: unknown }) => void }).register;
  if (typeof register !== 'function') return false;
  // this file is src/detectors/*.ts under tsx, dist/detectors/*.js when built: the entries sit one folder up
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const targets = {
    shiftbench: new URL(`../index${ext}`, import.meta.url).href,
    'shiftbench/plugin': new URL(`../plugin${ext}`, import.meta.url).href,
  };
  register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, { data: targets });
  registered = true;
  return true;
}
