// What a write statement reports about itself, the same on every store driver.

/** Rows a statement wrote: libSQL answers `rowsAffected`, D1 answers `meta.changes`. */
export function rowsAffected(result: unknown): number {
  const value = result as { rowsAffected?: number; meta?: { changes?: number } };
  return value.rowsAffected ?? value.meta?.changes ?? 0;
}
