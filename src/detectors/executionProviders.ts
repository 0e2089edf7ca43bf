/**
 * The ONNX Runtime execution providers shiftbench can ask for (`--ep`). Names only: the
 * ONNX adapter checks at load which of them this machine's onnxruntime-node can start.
 */
import type { ExecutionProvider } from '../core/types.js';

export type { ExecutionProvider } from '../core/types.js';

/** `--ep` values, as onnxruntime-node names the providers. */
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'tensorrt', 'coreml', 'dml'];

/** The provider used when none is asked for. */
export const DEFAULT_EXECUTION_PROVIDER: ExecutionProvider = 'cpu';
