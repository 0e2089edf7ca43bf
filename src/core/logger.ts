/** The logger of a call that was given none: it says nothing. */
import type { Logger } from './types.js';

export const SILENT_LOGGER: Logger = { info: () => undefined, warn: () => undefined };
