/** File names of the run directory layout, shared by the runner (writes) and the report (reads). */

/** A file-name-safe form of a detector key (the name of its `detections/<key>` folder and `.jsonl` log). */
export function safeFileName(key: string): string {
  return key
    .replace(/[^A-Za-z0-9._+=@-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 120);
}
