/**
 * Entry of a prepare worker (node:worker_threads; started by prepare.ts from the built
 * JavaScript): decodes dataset images and makes their shifted inputs with the same code
 * as the main thread (prepareImage), and sends the inputs back as transferred buffers.
 * It imports only the datasets' decoder, the shifts module and core, never a model runtime.
 */
import { parentPort } from 'node:worker_threads';
import type { DatasetImage } from '../core/types.js';
import { decodeDatasetImage } from '../datasets/decode.js';
import { InputBufferPool, inputBufferCapacity } from '../shifts/inputBuffers.js';
import type { ShiftedInputOptions } from '../shifts/inputs.js';
import { prepareImage, type PrepareReply, type PrepareRequest } from './prepareImage.js';

/**
 * Images in preparation at once: two, so one is in sharp (its own threads) while the other's
 * inputs are copied here; more would only hold more memory and delay the first in line.
 */
const CONCURRENT_JOBS = 2;
const waiting: PrepareRequest[] = [];
let running = 0;
/** Input buffers the main thread sent back (its detector released them), for the inputs of the next images. */
let buffers: InputBufferPool | undefined;

function pump(): void {
  while (running < CONCURRENT_JOBS && waiting.length > 0) {
    const m = waiting.shift()!;
    running++;
    void answer(m.jobId, m.image, m.inputOpts, buffers).finally(() => {
      running--;
      pump();
    });
  }
}

parentPort!.on('message', (m: PrepareRequest) => {
  const { width, height } = m.inputOpts.inputSizePx;
  const bytes = width * height * 3;
  if (buffers?.bytes !== bytes) {
    buffers = new InputBufferPool(
      bytes,
      inputBufferCapacity(bytes, m.inputOpts.shiftSet.shifts.length * CONCURRENT_JOBS),
    );
  }
  for (const b of m.buffers) buffers.give(b);
  waiting.push(m);
  pump();
});
parentPort!.postMessage({ kind: 'ready' }); // the imports above (sharp) are loaded

async function answer(
  jobId: number,
  image: DatasetImage,
  inputOpts: ShiftedInputOptions,
  pool: InputBufferPool | undefined,
): Promise<void> {
  let reply: PrepareReply;
  const transfer = new Set<ArrayBuffer>();
  try {
    const p = await prepareImage(image, decodeDatasetImage, inputOpts, pool);
    if (p.inputs === null) {
      reply = { jobId, kind: 'skipped', message: p.skipped ?? 'could not decode' };
    } else {
      const made = p.inputs.inputs();
      for (const m of made) transfer.add(m.data.buffer as ArrayBuffer);
      reply = { jobId, kind: 'made', size: p.size, geometry: p.inputs.geometry, kernel: p.inputs.kernel, inputs: made };
    }
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string; stack?: string };
    reply = {
      jobId,
      kind: 'error',
      name: e?.name ?? 'Error',
      code: e?.code,
      message: e?.message ?? String(err),
      stack: e?.stack,
    };
  }
  parentPort!.postMessage(reply, [...transfer]);
}
