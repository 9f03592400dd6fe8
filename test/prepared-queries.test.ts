import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { migrate } from '../src/store/migrate.js';
import { prepared } from '../src/store/prepared.js';
import { TEST_DATABASE_URL, freshPostgresSchema, postgresStoreAt, sqliteStoreAt, sqliteTestFile, type StoreOn } from './helpers/backends.js';

/** Prepared queries are compiled once per dialect: each run must still use its own values, on both databases. */
const BACKENDS: Array<[string, () => Promise<StoreOn>, string | undefined]> = [
  ['SQLite', async () => sqliteStoreAt(sqliteTestFile()), undefined],
  ['PostgreSQL', async () => postgresStoreAt(await freshPostgresSchema()), TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set'],
];

const nameOf = prepared(({ db }, { id }: { id: string }) => db.selectFrom('organizations').select('name').where('id', '=', id));
const rename = prepared(({ db }, { id, name }: { id: string; name: string }) =>
  db.updateTable('organizations').set({ name }).where('id', '=', id),
);
/** A value that decides the query's shape instead of reaching its SQL as a parameter: refused. */
const shapedByValue = prepared(({ db }, { limited }: { limited: boolean }) =>
  db.selectFrom('organizations').select('name').$if(limited, (query) => query.limit(1)),
);

for (const [name, open, skip] of BACKENDS) {
  describe(`prepared queries: ${name}`, { skip }, () => {
    let backend: StoreOn | undefined;
    after(() => backend?.store.close());

    test('each run uses its own values, one compiled query per dialect', async () => {
      backend = await open();
      await migrate(backend.db);
      const a = await backend.store.createOrganization('a', 'whsec_a');
      const b = await backend.store.createOrganization('b', 'whsec_b');
      assert.deepEqual((await nameOf(backend.db, { id: a.id })).rows, [{ name: 'a' }]);
      assert.deepEqual((await nameOf(backend.db, { id: b.id })).rows, [{ name: 'b' }]);
      assert.equal(Number((await rename(backend.db, { id: b.id, name: 'b2' })).numAffectedRows), 1);
      assert.equal((await backend.store.getOrganization(a.id))?.name, 'a');
      assert.equal((await backend.store.getOrganization(b.id))?.name, 'b2');
      await assert.rejects(shapedByValue(backend.db, { limited: true }), /does not use limited as parameters/);
    });
  });
}
