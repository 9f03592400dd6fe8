import type { Config } from '../config.js';
import { openStore } from '../backends.js';

/** Opening the store applies pending migrations (SQLite under DATA_DIR, or PostgreSQL at DATABASE_URL). */
export async function migrateCommand(config: Config): Promise<void> {
  const { store } = await openStore(config);
  await store.close();
  process.stdout.write('migrations applied\n');
}
