import type { Db } from './database.js';

/** Returns the stored value, storing `value` first if there was none (so concurrent processes agree). */
export async function getOrInitSetting({ db }: Db, name: string, value: string): Promise<string> {
  await db.insertInto('settings').values({ name, value }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
