import type { Config } from '../config.js';
import { openEmbeddedStore } from '../main.js';

/** Opening the store applies pending migrations. */
export async function migrateCommand(config: Config): Promise<void> {
  const { store } = openEmbeddedStore(config);
  await store.close();
  process.stdout.write('migrations applied\n');
}
