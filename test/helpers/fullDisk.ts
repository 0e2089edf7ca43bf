/**
 * A full disk for a test, without root or mounts: a `node:fs/promises` whose file handles refuse every write with
 * ENOSPC while `full.prefix` is set and the file's path starts with it (else the real module). In a test file:
 *
 *   const full = vi.hoisted(() => ({ prefix: '' }));
 *   vi.mock('node:fs/promises', async (real) => (await import('../helpers/fullDisk.js')).fullDiskFs(real, full));
 */
type FsPromises = typeof import('node:fs/promises');

export async function fullDiskFs(importOriginal: () => Promise<unknown>, full: { prefix: string }): Promise<unknown> {
  const real = (await importOriginal()) as FsPromises;
  const open = (async (file: unknown, flags?: unknown, mode?: unknown) => {
    const fh = await real.open(file as string, flags as string, mode as number);
    if (!(full.prefix && typeof file === 'string' && file.startsWith(full.prefix))) return fh;
    const noRoom = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    return new Proxy(fh, {
      get(target, p) {
        if (p === 'write' || p === 'writeFile') return noRoom;
        const v = Reflect.get(target, p);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }) as FsPromises['open'];
  return { ...real, default: { ...real, open }, open };
}
