/**
 * The mitigation contract (protocol §7): a mitigation says how to load a detector
 * (graph rewrites, a replacement model) and wraps the loaded detector into another
 * detector, so every metric applies to it unchanged.
 */
import type { Detector, LoadDetectorOptions, Logger, ModelEntry, ShiftMode } from '../core/types.js';

/** What a mitigation may be named (built-in or from a plug-in): what `--mitigation name[:arg]` can name. */
export const MITIGATION_NAME_RE = /^[a-z][a-z0-9-]*$/;

/** What the runner tells a mitigation when it wraps a detector. */
export interface MitigationContext {
  /** How the runner makes shifted inputs; wrappers that move the input do it the same way. */
  mode: ShiftMode;
  logger?: Logger;
}

export interface Mitigation {
  /** Mitigation name, e.g. "input-blur". */
  name: string;
  /** Canonical spec, e.g. "input-blur:1.5"; parsing it again gives the same mitigation. */
  spec: string;
  /** Options to merge into loadDetector (graph rewrites for antialias:post); undefined if none. */
  loadOptions?: Partial<LoadDetectorOptions>;
  /**
   * For antialias:trained: the name of the model to load instead (the anti-aliased twin).
   * `candidates` (the registry's entries) only improve the error message.
   * Throws ERR_INVALID_OPTION when the model has no twin. Undefined for other mitigations.
   */
  replacementModel?: (entry: ModelEntry, candidates?: readonly ModelEntry[]) => string;
  /** Wraps the loaded detector; the result's `info.name` is "<name>+<spec>". */
  wrap(detector: Detector, ctx: MitigationContext): Detector;
}

/** Builds a mitigation from the text after the first ':' of a spec ('' when there is none). */
export type MitigationFactory = (arg: string) => Mitigation;

/** One entry of the mitigation registry. */
export interface MitigationDefinition {
  name: string;
  /** Syntax for error messages and docs, e.g. "input-blur:<sigmaPx>". */
  syntax: string;
  /** One line: what it does. */
  summary: string;
  create: MitigationFactory;
}
