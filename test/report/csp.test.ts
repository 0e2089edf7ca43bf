/** Issue 10 (security): report.html carries a Content-Security-Policy that forbids every network load. */
import { readFile, rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/index.js';
import { labelledMetrics, writeRunDir } from './fixture.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('report.html Content-Security-Policy', () => {
  it('is the first thing in <head> after the charset and allows only inline code and data: URLs, never the network', async () => {
    const dir = await writeRunDir(labelledMetrics());
    dirs.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const m = html.match(
      /<head>\s*<meta charset="utf-8">\s*<meta http-equiv="Content-Security-Policy" content="([^"]+)">/,
    );
    expect(m, 'CSP meta right after the charset').not.toBeNull();
    const directives = new Map(
      m![1]
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1)] as const),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    for (const [name, sources] of directives) {
      for (const s of sources) expect(["'none'", "'unsafe-inline'", 'data:'], `${name} ${s}`).toContain(s);
    }
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
  });
});
