/**
 * Whether an error means the storage is full: SQLite's SQLITE_FULL, the file system's ENOSPC (no space) or
 * EDQUOT (quota), EFBIG (file size limit), or PostgreSQL's disk_full (53100). Such a failure is the server's
 * condition, not a bug: the API answers 507 and readiness reports it.
 */
export function isDiskFull(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || code === '53100') return true;
    current = current.cause;
  }
  return false;
}
