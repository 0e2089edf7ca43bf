/**
 * The plug-in contract: what `definePlugin` accepts and checks. Kept free of Node
 * imports so `shiftbench/plugin` stays light for plug-in authors.
 */
import { describeValue, ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Detector, LoadDetectorOptions } from '../core/types.js';
import { MITIGATION_NAME_RE, type Mitigation } from '../mitigations/types.js';

/** The plug-in API version this shiftbench implements. */
export const PLUGIN_API_VERSION = 1;

/** Creates a detector; receives the run's load options (threads, scoreThreshold, logger, seed…). */
export type PluginDetectorFactory = (opts: LoadDetectorOptions) => Promise<Detector> | Detector;

/** Creates a mitigation from the text after the first ':' of its spec ('' when there is none). */
export type PluginMitigationFactory = (arg: string) => Mitigation;

export interface PluginDefinition {
  /** Must be 1. */
  apiVersion: 1;
  /** Plug-in name: letters, digits, '.', '_', '-'; detectors are addressed as `<name>/<detector>`. */
  name: string;
  /** Detector factories by name. */
  detectors: Record<string, PluginDetectorFactory>;
  /** Mitigation factories by name (optional). */
  mitigations?: Record<string, PluginMitigationFactory>;
}

const PLUGIN_BRAND = Symbol.for('shiftbench.plugin');
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Checks a plug-in definition; `where` names the file in errors. Throws ERR_PLUGIN
 * saying what is wrong and how it should look.
 */
export function validatePluginDefinition(def: unknown, where: string): PluginDefinition {
  const fail = (what: string): never => {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `Invalid plug-in ${where}: ${what}. A plug-in's default export is definePlugin({ apiVersion: 1, name, ` +
        `detectors: { name: (opts) => detector } }); see docs/plugins.md`,
    );
  };
  if (!is.object(def)) return fail(`expected an object but received ${describeValue(def)}`);
  if (def.apiVersion !== PLUGIN_API_VERSION) {
    fail(
      `apiVersion is ${describeValue(def.apiVersion)} but this shiftbench supports apiVersion ${PLUGIN_API_VERSION}`,
    );
  }
  if (!is.string(def.name) || !NAME_RE.test(def.name))
    fail(`name must be letters, digits, ".", "_" or "-" but is ${describeValue(def.name)}`);
  if (!is.object(def.detectors) || Object.keys(def.detectors).length === 0)
    fail('detectors must be an object with at least one detector factory');
  for (const [key, f] of Object.entries(def.detectors as Record<string, unknown>)) {
    if (!NAME_RE.test(key)) fail(`detector name ${describeValue(key)} must be letters, digits, ".", "_" or "-"`);
    if (typeof f !== 'function')
      fail(`detectors.${key} must be a function (opts) => Detector but is ${describeValue(f)}`);
  }
  if (def.mitigations !== undefined) {
    if (!is.object(def.mitigations)) fail('mitigations must be an object of factories');
    for (const [key, f] of Object.entries(def.mitigations as Record<string, unknown>)) {
      if (!MITIGATION_NAME_RE.test(key))
        fail(
          `mitigation name ${describeValue(key)} must be lower-case letters, digits and "-", starting with a letter`,
        );
      if (typeof f !== 'function')
        fail(`mitigations.${key} must be a function (arg) => Mitigation but is ${describeValue(f)}`);
    }
  }
  return def as unknown as PluginDefinition;
}

/**
 * Declares a plug-in: returns `def` unchanged (marked as checked) after validating it.
 * Use as the module's default export. Throws ERR_PLUGIN when the definition is invalid.
 *
 * @example
 * export default definePlugin({ apiVersion: 1, name: 'acme', detectors: { tiny: (opts) => makeTiny(opts) } });
 */
export function definePlugin<T extends PluginDefinition>(def: T): T {
  validatePluginDefinition(def, '(in definePlugin)');
  Object.defineProperty(def, PLUGIN_BRAND, { value: true, enumerable: false });
  return def;
}

/** Whether `def` came from definePlugin (plain objects are accepted too and checked the same way). */
export function isDefinedPlugin(def: unknown): boolean {
  return is.object(def) && (def as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}
