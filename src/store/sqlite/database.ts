import type Database from 'better-sqlite3';
import { openSqliteFile } from '../database.js';

export type Db = Database.Database;

/** The main database file; FULL: a finished artwork survives power loss, not only a process crash. */
export function openSqlite(file: string): Db {
  return openSqliteFile(file, 'FULL');
}
