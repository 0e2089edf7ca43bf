/**
 * The dataset a run's manifest names, loaded for a command that recomputes from stored detections and takes no
 * --dataset (report --rescore, compare, check --baseline): when it is not where the run read it, the error names that
 * path and the fix (put it back), not a flag the command does not have.
 */
import { ShiftbenchError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { MissingDatasetPathError } from '../datasets/index.js';
import type { RunOptions } from './options.js';
import type { RunnerEnv } from './types.js';

/** What the manifest's options record of the dataset. */
type SavedDataset = Partial<Pick<RunOptions, 'dataset' | 'images' | 'classes' | 'limit'>> & {
  images?: string | null;
  limit?: number | null;
};

/**
 * Loads the dataset `saved` (a manifest's options) names. A dataset that cannot be read there is ERR_DATASET:
 * `refused(reason, where)` gives the message (`where`: the dataset path, with its image folder when one was given).
 */
export async function loadRecordedDataset(
  env: RunnerEnv,
  saved: SavedDataset,
  refused: (reason: string, where: string) => string,
): Promise<Dataset> {
  return env
    .loadDataset({
      dataset: String(saved.dataset),
      images: saved.images ?? undefined,
      classes: typeof saved.classes === 'string' ? saved.classes : undefined,
      limit: saved.limit ?? undefined,
    })
    .catch((err: unknown) => {
      const gone = err instanceof MissingDatasetPathError;
      if (!(err instanceof ShiftbenchError) || (err.code !== 'ERR_DATASET' && !gone)) throw err;
      const where =
        typeof saved.images === 'string' ? `${String(saved.dataset)} (images: ${saved.images})` : String(saved.dataset);
      throw new ShiftbenchError('ERR_DATASET', refused(err.message.replace(/\.\s*$/, ''), where), { cause: err });
    });
}
