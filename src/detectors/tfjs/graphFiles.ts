/**
 * Reading a TF.js graph model (model.json + weight shards) from a local folder,
 * applying an optional graph rewrite, and turning it into a TF.js IO handler —
 * no network, no `file://` handler of tfjs-node needed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ShiftbenchError, loadError } from '../../core/errors.js';
import type { LoadDetectorOptions } from '../../core/types.js';

/** A graph model in memory: the parsed model.json and all weight shards concatenated in manifest order. */
export interface TfjsGraphFiles {
  modelJson: Record<string, unknown>;
  /** Shards of every `weightsManifest` group, concatenated in manifest order. */
  weights: ArrayBuffer;
  /** Every file read, with its sha256 (model.json first), for the manifest. */
  files: { path: string; sha256: string }[];
}

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The weight groups of a model.json; throws ERR_MODEL_LOAD when it is not a TF.js graph model. */
export function manifestGroups(modelJson: Record<string, unknown>, where: string): ManifestGroup[] {
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest) || modelJson.modelTopology === undefined) {
    throw loadError('ERR_MODEL_LOAD', `the TF.js graph model ${where}`, [
      'It needs "modelTopology" and "weightsManifest": point to the model.json written by tensorflowjs_converter',
    ]);
  }
  return manifest as ManifestGroup[];
}

/** Bytes one value takes in a shard: the stored (quantised) dtype, else the weight's dtype; null when variable. */
const STORED_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Refuses a weight group whose shards do not hold exactly the bytes its weights take: a truncated shard (a partial
 * download) or one with other bytes (another conversion) would shift or cut every weight after it, and an unpinned
 * shard (coco-ssd's) has no sha256 to catch it. Groups with string weights (variable size) are not checked.
 */
function checkGroupSize(
  group: ManifestGroup,
  bytes: readonly Uint8Array[],
  files: readonly { path: string }[],
  modelPath: string,
): void {
  let expected = 0;
  for (const w of group.weights ?? []) {
    const dtype = (w as { quantization?: { dtype?: string } }).quantization?.dtype ?? w.dtype;
    const size = STORED_BYTES[dtype as string];
    if (size === undefined || !Array.isArray(w.shape)) return;
    expected += size * w.shape.reduce((n, d) => n * d, 1);
  }
  const found = bytes.reduce((n, b) => n + b.byteLength, 0);
  if (found === expected) return;
  const each = files.map((f, i) => `${f.path} (${bytes[i].byteLength} bytes)`).join(', ');
  throw loadError(
    'ERR_MODEL_LOAD',
    `the weights of ${modelPath}: its "weightsManifest" describes ${expected} bytes for ${group.paths.join(', ')} ` +
      `but the shard file${files.length === 1 ? ' holds' : 's hold'} ${found} bytes: ${each}`,
    [
      'The shard is truncated (a partial download) or from another conversion: copy or download it again, next to ' +
        'this model.json',
      'Pull the model again: shiftbench models pull <name>',
    ],
  );
}

/**
 * Reads `modelFile` (a model.json) and every shard its manifest lists from `dir`.
 * @throws ShiftbenchError ERR_MODEL_LOAD naming the missing or unreadable file.
 */
export async function readTfjsGraphFiles(dir: string, modelFile: string): Promise<TfjsGraphFiles> {
  const modelPath = path.resolve(dir, modelFile);
  if (!existsSync(modelPath)) {
    throw loadError('ERR_MODEL_LOAD', `the TF.js model file ${modelPath}`, [
      'Check the folder: it must hold model.json and its weight shards',
      'Pull the model again: shiftbench models pull <name>',
    ]);
  }
  const jsonBytes = new Uint8Array(await readFile(modelPath));
  let modelJson: Record<string, unknown>;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(jsonBytes)) as Record<string, unknown>;
  } catch (err) {
    throw loadError(
      'ERR_MODEL_LOAD',
      `the TF.js model file ${modelPath}`,
      ['The file is not valid JSON; pull or copy it again'],
      err,
    );
  }
  const files = [{ path: modelPath, sha256: sha256(jsonBytes) }];
  const shards: Uint8Array[] = [];
  for (const group of manifestGroups(modelJson, modelPath)) {
    const groupStart = shards.length;
    for (const p of group.paths) {
      const shardPath = path.resolve(path.dirname(modelPath), p);
      if (!existsSync(shardPath)) {
        throw loadError('ERR_MODEL_LOAD', `the weight shard ${shardPath} listed in ${modelPath}`, [
          'Copy every shard named in model.json\'s "weightsManifest" next to it',
          'Pull the model again: shiftbench models pull <name>',
        ]);
      }
      const bytes = new Uint8Array(await readFile(shardPath));
      shards.push(bytes);
      files.push({ path: shardPath, sha256: sha256(bytes) });
    }
    checkGroupSize(group, shards.slice(groupStart), files.slice(1 + groupStart), modelPath);
  }
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const weights = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    weights.set(s, offset);
    offset += s.byteLength;
  }
  return { modelJson, weights: weights.buffer, files };
}

/**
 * Applies `opts.graphRewrite.tfjsGraph` (e.g. the antialias mitigation) when present.
 * The rewrite receives the model.json object and the concatenated weights and returns
 * new ones whose `weightsManifest` describes the new buffer.
 * @throws ShiftbenchError ERR_MODEL_LOAD when the rewrite throws or returns a malformed model.
 */
export function applyGraphRewrite(files: TfjsGraphFiles, opts: LoadDetectorOptions, where: string): TfjsGraphFiles {
  const rewrite = opts.graphRewrite?.tfjsGraph;
  if (!rewrite) return files;
  let out: { modelJson: Record<string, unknown>; weights: ArrayBuffer };
  try {
    out = rewrite(files.modelJson, files.weights);
  } catch (err) {
    if (err instanceof ShiftbenchError) throw err;
    throw loadError(
      'ERR_MODEL_LOAD',
      `the rewritten graph of ${where}`,
      ['The graph rewrite failed; run without the mitigation to check the plain model'],
      err,
    );
  }
  manifestGroups(out.modelJson, `${where} (after the graph rewrite)`);
  return { modelJson: out.modelJson, weights: out.weights, files: files.files };
}

/** A TF.js IO handler serving the in-memory model; weight specs are the manifest groups flattened in order. */
export function memoryHandler(files: TfjsGraphFiles): tf.io.IOHandler {
  const groups = manifestGroups(files.modelJson, 'in memory');
  const weightSpecs = groups.flatMap((g) => g.weights);
  const j = files.modelJson;
  return tf.io.fromMemory({
    modelTopology: j.modelTopology as object,
    weightSpecs,
    weightData: files.weights,
    format: j.format as string | undefined,
    generatedBy: j.generatedBy as string | undefined,
    convertedBy: j.convertedBy as string | null | undefined,
    signature: j.signature as object | undefined,
    userDefinedMetadata: j.userDefinedMetadata as Record<string, unknown> | undefined,
    modelInitializer: j.modelInitializer as object | undefined,
  });
}

/** Loads a graph model from memory files; wraps TF.js failures into ERR_MODEL_LOAD naming `where`. */
export async function loadGraphFromFiles(files: TfjsGraphFiles, where: string): Promise<tf.GraphModel> {
  try {
    return await tf.loadGraphModel(memoryHandler(files));
  } catch (err) {
    throw loadError(
      'ERR_MODEL_LOAD',
      `the TF.js graph model ${where}`,
      [
        'Check that model.json and its shards belong together (same conversion)',
        'Pull the model again: shiftbench models pull <name>',
      ],
      err,
    );
  }
}
