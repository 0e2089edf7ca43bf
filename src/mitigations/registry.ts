/**
 * The mitigation registry: spec string → Mitigation. The built-ins are in the table
 * from the start; plug-ins add theirs with `registerMitigation`.
 */
import { ShiftbenchError, describeValue } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import { MITIGATION_NAME_RE, type Mitigation, type MitigationDefinition, type MitigationFactory } from './types.js';
import { ANTIALIAS } from './antialias.js';
import { INPUT_BLUR } from './inputBlur.js';
import { POLYPHASE_ALIGN } from './polyphaseAlign.js';
import { SHIFT_ENSEMBLE } from './shiftEnsemble.js';

/** Every known mitigation, by name. */
export const MITIGATIONS = new Registry<MitigationDefinition>('mitigation');
for (const def of [ANTIALIAS, INPUT_BLUR, SHIFT_ENSEMBLE, POLYPHASE_ALIGN]) MITIGATIONS.register(def.name, def);

/** "name: syntax — summary" for each known mitigation, one per line (for errors and help). */
export function describeMitigations(): string {
  return MITIGATIONS.entries()
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, d]) => `  ${d.syntax} — ${d.summary}`)
    .join('\n');
}

function unknown(spec: unknown, why: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `Expected a mitigation spec for --mitigation but received ${describeValue(spec)} (${why}). ` +
      `Known mitigations:\n${describeMitigations()}`,
  );
}

/**
 * Parses a mitigation spec "name[:arg]" (e.g. "input-blur:1.5", "antialias:post:5",
 * "shift-ensemble:grid:1") into a Mitigation. Names are case-sensitive, lower case.
 * Throws ERR_INVALID_OPTION listing every known mitigation and its syntax when the name
 * is unknown, and the mitigation's own ERR_INVALID_OPTION when its argument is bad.
 */
export function parseMitigation(spec: string): Mitigation {
  if (typeof spec !== 'string' || spec.trim() === '') throw unknown(spec, 'empty');
  const text = spec.trim();
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (!MITIGATIONS.has(name)) throw unknown(spec, `no mitigation named "${name}"`);
  return MITIGATIONS.get(name).create(arg);
}

/**
 * Adds a mitigation (used by the plug-in loader for `definePlugin({ mitigations })`).
 * `name` is lower-case letters, digits and '-'; `syntax`/`summary` show up in error
 * messages. Throws ERR_PLUGIN when the name is malformed or already taken.
 */
export function registerMitigation(
  name: string,
  factory: MitigationFactory,
  describe: { syntax?: string; summary?: string } = {},
): void {
  if (typeof name !== 'string' || !MITIGATION_NAME_RE.test(name)) {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `Expected a mitigation name of lower-case letters, digits and '-' but received ${describeValue(name)}`,
    );
  }
  if (typeof factory !== 'function') {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `Expected a function (arg: string) => Mitigation for mitigation "${name}" but received ${describeValue(factory)}`,
    );
  }
  if (MITIGATIONS.has(name)) {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `A mitigation named "${name}" is already registered; choose another name for the plug-in's mitigation`,
    );
  }
  MITIGATIONS.register(name, {
    name,
    syntax: describe.syntax ?? `${name}[:<arg>]`,
    summary: describe.summary ?? 'plug-in mitigation',
    create: factory,
  });
}
