/** `shiftbench run`: flags → RunOptions → runBenchmark (or runExperiment with --config). */
import type { Command } from 'commander';
import {
  DEFAULT_DETECT_TIMEOUT_MS,
  MAX_DETECT_TIMEOUT_MS,
  formatRunSummary,
  invalidParameterError,
  loadExperimentConfig,
  runBenchmark,
  runExperiment,
  runShard,
  type RunOptions,
  type ShiftMode,
} from '../../index.js';
import { CLI_TEXT } from '../../core/messages.js';
import {
  addAnalysisFlags,
  analysisOptions,
  collect,
  consoleLogger,
  exitStopped,
  parseIntFlag,
  parseTextFlag,
  printLine,
  stopOnSignals,
  type AnalysisFlags,
} from '../io.js';
import { createProgress } from '../progress.js';

interface RunFlags extends AnalysisFlags {
  model: string[];
  mitigation: string[];
  plugin: string[];
  registry: string[];
  dataset?: string;
  images?: string;
  classes?: string;
  shifts?: string;
  mode?: string;
  out?: string;
  limit?: number;
  backend?: string;
  ep?: string;
  threads?: number;
  weights?: string;
  seed?: number;
  detectTimeout?: number;
  batch?: number;
  maxDetections?: number;
  prepareWorkers?: number;
  kernel?: string;
  subpixelKernel?: string;
  config?: string;
  httpConcurrency?: number;
  httpTimeout?: number;
  httpRetries?: number;
  force?: boolean;
  quiet?: boolean;
  shard?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('Run detectors on every shift of every image and measure how much their detections change')
    .option(
      '-m, --model <name|path>',
      'model: registry name, model file/folder or plug-in detector (repeatable)',
      collect,
      [],
    )
    .option('-d, --dataset <dir|json>', 'COCO JSON, COCO/YOLO folder, or a folder of images (label-free)')
    .option('--images <dir>', 'image folder of a COCO JSON, if not beside it')
    .option('--classes <file>', 'class names of a YOLO folder (txt, *.names or YAML with names:)')
    .option(
      '-s, --shifts <spec>',
      'shift set: grid:K, line:K, frac:N (every (i/N, j/N) from 0 to 1 px) or an explicit list 0,0;1,0;0.5,0;… ' +
        '(default grid:1)',
    )
    .option('--mode <mode>', 'how shifted inputs are made: pad | crop | circular (default pad)')
    .option(
      '-o, --out <dir>',
      'run directory (default reports/<run-id>; an unfinished run of the same options is resumed)',
    )
    .option('--limit <n>', 'use only the first N images', parseIntFlag('--limit', 1))
    .option(
      '--mitigation <spec>',
      'also run each model with this mitigation, e.g. input-blur:1 (repeatable)',
      collect,
      [],
    )
    .option('--plugin <file>', 'load a plug-in module (repeatable)', collect, [])
    .option('--registry <file>', 'extra model registry JSON (repeatable)', collect, [])
    .option('--backend <name>', 'TF.js backend: auto | tfjs-node-gpu | tfjs-node | wasm | cpu (default auto)')
    .option(
      '--ep <name>',
      'ONNX Runtime execution provider of ONNX models: cpu | cuda | tensorrt | coreml | dml (default cpu)',
    )
    .option('--threads <n>', 'runtime threads', parseIntFlag('--threads', 1, 1024))
    .option(
      '--weights <dir>',
      'local model weights instead of the registry source (coco-ssd: a folder with model.json and its shards)',
    )
    .option(
      '--seed <n>',
      'seed of what makes detections: fakes, plug-ins (default 0)',
      parseIntFlag('--seed', 0, 2 ** 32 - 1),
    )
    .option(
      '--detect-timeout <ms>',
      `timeout of one detect call of a plug-in detector (default ${DEFAULT_DETECT_TIMEOUT_MS})`,
      parseIntFlag('--detect-timeout', 1, MAX_DETECT_TIMEOUT_MS),
    )
    .option(
      '--batch <n>',
      "inputs per detect call (default: the model's maximum, at most 32)",
      parseIntFlag('--batch', 1, 4096),
    )
    .option(
      '--max-detections <n>',
      'detections kept per input, the highest-scoring (default 1000)',
      parseIntFlag('--max-detections', 1, 1_000_000),
    )
    .option(
      '--prepare-workers <n>',
      'threads that decode images and make inputs ahead of the detector (default: cores − 2, at most 4; ' +
        'none below 4 cores)',
      parseIntFlag('--prepare-workers', 0, 64),
    )
    .option('--kernel <name>', 'resampling kernel, applied once per image (default linear)')
    .option(
      '--subpixel-kernel <name>',
      'kernel of fractional shifts in pad/crop: lanczos3 (default), lanczos2 or linear',
    )
    .option(
      '--http-concurrency <n>',
      'served models (KServe v2, http:// detectors): requests in flight at once (default 2)',
      parseIntFlag('--http-concurrency', 1, 256),
    )
    .option(
      '--http-timeout <ms>',
      'served models: timeout of one request (default 60000)',
      parseIntFlag('--http-timeout', 1, 86_400_000),
    )
    .option(
      '--http-retries <n>',
      'served models: retries on 5xx, 408, 429, timeouts, broken connections (default 3)',
      parseIntFlag('--http-retries', 0, 100),
    )
    .option(
      '--config <file>',
      'experiment matrix JSON { models, mitigations, shifts, modes, datasets }: runs every combination',
      parseTextFlag('--config', 'an experiment config JSON file'),
    )
    .option(
      '--shard <i/n>',
      'run only shard i of n (0-based) of the images, into its own --out; join them with `shiftbench merge`',
    )
    .option('--force', 'replace a run directory that holds a different run')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  shiftbench run --model centernet --dataset ../shared/data/coco128/annotations/instances.json --shifts ' +
          'grid:1 --out reports/coco128',
        '  shiftbench run --model zoo-fcos --mitigation input-blur:1 --dataset datasets/synth/val --limit 32 --quiet',
        '  shiftbench run --config exp.json --out reports/exp1',
        '  shiftbench run --model zoo-fcos --dataset datasets/synth/val --shard 0/4 --out runs/shard-0   (then: ' +
          'shiftbench merge runs/shard-* --out runs/all)',
        '',
        'Stop with Ctrl-C at any time and rerun the same command to resume; nothing computed is recomputed.',
        'Analysis-only settings (--score-threshold, --bootstrap, --bootstrap-seed, --bootstrap-bounds, ' +
          'a larger --limit, another',
        '--model) reuse the stored detections; `shiftbench report RUN --score-threshold τ` rescores a run without ' +
          'models.',
      ].join('\n'),
    );
  addAnalysisFlags(cmd).action(async (flags: RunFlags) => {
    const logger = consoleLogger(flags.quiet);
    const progress = createProgress({ quiet: flags.quiet });
    const common = {
      images: flags.images,
      classes: flags.classes,
      out: flags.out,
      limit: flags.limit,
      backend: flags.backend,
      executionProvider: flags.ep,
      threads: flags.threads,
      weightsDir: flags.weights,
      ...analysisOptions(flags),
      seed: flags.seed,
      detectTimeoutMs: flags.detectTimeout,
      batchSize: flags.batch,
      maxDetections: flags.maxDetections,
      prepareWorkers: flags.prepareWorkers,
      kernel: flags.kernel as RunOptions['kernel'],
      subpixelKernel: flags.subpixelKernel as RunOptions['subpixelKernel'],
      httpConcurrency: flags.httpConcurrency,
      httpTimeoutMs: flags.httpTimeout,
      httpRetries: flags.httpRetries,
      force: flags.force,
      plugins: flags.plugin.length ? flags.plugin : undefined,
      registryFiles: flags.registry.length ? flags.registry : undefined,
    };
    const stop = stopOnSignals(); // Ctrl-C, SIGTERM, SIGHUP: stop, release the run lock, exit 128 + signal
    const hooks = { logger, onProgress: progress.onProgress, signal: stop.signal };
    try {
      if (flags.config) {
        if (flags.shard !== undefined)
          throw invalidParameterError('--shard', 'no --config (shard one run at a time)', flags.shard);
        const config = await loadExperimentConfig(flags.config);
        if (flags.model.length) config.models = flags.model;
        if (flags.mitigation.length) config.mitigations = flags.mitigation;
        if (flags.dataset) config.datasets = [flags.dataset];
        if (flags.shifts) config.shifts = [flags.shifts];
        if (flags.mode) config.modes = [flags.mode as ShiftMode];
        const res = await runExperiment(config, common, hooks);
        progress.finish();
        for (const run of res.runs) {
          printLine(`\n${run.dataset}  shifts ${run.shifts}  mode ${run.mode}`);
          printLine(formatRunSummary(run.metrics));
        }
        printLine(`\nsummary: ${res.summaryFile}`);
        printLine(`experiment directory: ${res.outDir}`);
        return;
      }
      if (flags.model.length === 0)
        throw invalidParameterError('--model', 'at least one model (or --config <file>)', undefined);
      if (!flags.dataset)
        throw invalidParameterError('--dataset', 'a dataset folder or COCO JSON (or --config <file>)', flags.dataset);
      const what = {
        ...common,
        models: flags.model,
        mitigations: flags.mitigation,
        dataset: flags.dataset,
        shifts: flags.shifts,
        mode: flags.mode as ShiftMode | undefined,
      };
      if (flags.shard !== undefined) {
        const r = await runShard({ ...what, shard: flags.shard }, hooks);
        progress.finish();
        printLine(
          `shard ${r.shard.index}/${r.shard.count}: ${r.images} of ${r.shard.imagesInRun} images stored in ` +
            `${r.runDir}`,
        );
        printLine(
          `when all ${r.shard.count} shards are done: shiftbench merge <their run directories> --out <merged run ` +
            `directory>`,
        );
        return;
      }
      const { runDir, metrics, reportPath } = await runBenchmark(what, hooks);
      progress.finish();
      printLine(formatRunSummary(metrics));
      printLine(`\nrun directory: ${runDir}`);
      printLine(reportPath ? `report: ${reportPath}` : `report: shiftbench report ${runDir}`);
    } catch (err) {
      progress.finish();
      if ((err as Error)?.name === 'AbortError') {
        exitStopped(stop, CLI_TEXT.stoppedResumable);
      }
      throw err;
    } finally {
      stop.release();
    }
  });
}
