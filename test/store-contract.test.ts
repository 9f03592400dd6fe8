import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Artwork } from '../src/artworks/artwork.js';
import { newArtwork } from '../src/artworks/new-artwork.js';
import { MAX_JOB_ATTEMPTS } from '../src/limits.js';
import type { Organization } from '../src/store/store.js';
import { TEST_DATABASE_URL, postgresUnderTest, sqliteUnderTest, type StoreUnderTest } from './helpers/backends.js';

/**
 * One contract, every backend: the same behaviour is asserted of SQLite and PostgreSQL so the embedded and the
 * scaled-out modes cannot drift apart.
 */
const BACKENDS: Array<[string, () => Promise<StoreUnderTest>, string | undefined]> = [
  ['SQLite', sqliteUnderTest, undefined],
  ['PostgreSQL', postgresUnderTest, TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set'],
];

/** Slots that never limit: for tests about leasing, not about fairness between organizations. */
const ANY_SLOTS = { perOrg: 1000, busy: {} };

const success = { status: 'succeeded' as const, results: [{ key: 'k', contentType: 'image/png' }], faces: [], duration: 1 };

for (const [name, open, skipReason] of BACKENDS) {
  if (skipReason) process.stdout.write(`${name} store contract skipped: ${skipReason}\n`);
  describe(`store and queue contract: ${name}`, { skip: skipReason }, () => {
    let backend: StoreUnderTest;
    let org: Organization;
    before(async () => {
      backend = await open();
      org = await backend.store.createOrganization('o', 'whsec_a');
    });
    after(() => backend.close());

    async function artwork(webhook?: string, at = new Date()): Promise<Artwork> {
      const created = newArtwork(
        org.id,
        { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png', ...(webhook ? { webhook } : {}) },
        at,
        8,
      );
      await backend.store.insertArtwork(created);
      return created;
    }

    /** Claims until the given artwork's job comes up (earlier tests may have left jobs behind). */
    async function claimFor(id: string, now: number, leaseMs = 10_000) {
      for (let i = 0; i < 50; i++) {
        const job = await backend.queue.claim(now, leaseMs);
        if (!job) return null;
        if (job.artworkId === id) return job;
        await backend.queue.finish(job, success, new Date());
      }
      return null;
    }

    test('organizations, keys and settings', async () => {
      assert.equal((await backend.store.getOrganization(org.id))?.name, 'o');
      assert.equal(await backend.store.getOrganization('not-a-uuid'), null);
      const key = await backend.store.createApiKey({ orgId: org.id, name: 'k', scope: 'manager', secretHash: `h-${name}` });
      assert.equal((await backend.store.findApiKeyBySecretHash(`h-${name}`))?.id, key.id);
      assert.equal(await backend.store.findApiKeyBySecretHash('nope'), null);
      assert.equal(await backend.store.getOrInitSetting('s', 'first'), 'first');
      assert.equal(await backend.store.getOrInitSetting('s', 'second'), 'first');
      await backend.store.rotateWebhookSecret(org.id, 'whsec_b', new Date(Date.now() + 60_000));
      const rotated = await backend.store.getOrganization(org.id);
      assert.equal(rotated?.webhookSecret, 'whsec_b');
      assert.equal(rotated?.previousWebhookSecret, 'whsec_a');
      // the one read authentication makes: the same key and organization as the two separate reads
      assert.deepEqual(await backend.store.findApiKeyWithOrganization(`h-${name}`), { key, org: rotated });
      assert.equal(await backend.store.findApiKeyWithOrganization('nope'), null);
    });

    test('artworks round-trip and list newest first, ties in insertion order', async () => {
      const at = new Date();
      const a = await artwork(undefined, at);
      const b = await artwork(undefined, at);
      const read = await backend.store.getArtwork(org.id, a.id);
      assert.deepEqual(read, a);
      assert.equal(await backend.store.getArtwork('00000000-0000-0000-0000-000000000000', a.id), null);
      assert.equal(await backend.store.getArtwork(org.id, 'not-a-uuid'), null);
      const listed = await backend.store.listArtworks(org.id, 0, 2);
      assert.deepEqual(listed.map((x) => x.id), [b.id, a.id]);
    });

    test('a claimed job is invisible to other claimers until its lease runs out; a lost lease cannot finish', async () => {
      const target = await artwork();
      const other = await backend.other();
      const now = Date.now() + 1000;
      const job = await claimFor(target.id, now);
      assert.ok(job);
      assert.equal((await backend.store.getArtworkById(target.id))?.status, 'processing');
      assert.equal(await other.queue.claim(now + 5_000, 10_000), null);
      const takeover = await other.queue.claim(now + 10_001, 10_000);
      assert.equal(takeover?.artworkId, target.id);
      assert.equal(takeover?.attempts, 2);
      assert.equal(await backend.queue.renew(job, now + 10_002, 10_000), false);
      assert.equal(await backend.queue.finish(job, success, new Date()), false);
      assert.equal((await backend.store.getArtworkById(target.id))?.status, 'processing');
      assert.ok(takeover);
      assert.equal(await other.queue.finish(takeover, success, new Date()), true);
      assert.equal((await backend.store.getArtworkById(target.id))?.status, 'succeeded');
      assert.equal(await other.queue.finish(takeover, success, new Date()), false, 'completes at most once');
    });

    test('finishing writes exactly one pending webhook delivery, leased to one dispatcher', async () => {
      const target = await artwork('https://example.com/hook');
      const job = await claimFor(target.id, Date.now() + 1000);
      assert.ok(job);
      await backend.queue.finish(job, success, new Date());
      const due = (await backend.store.claimDueDeliveries(Date.now() + 1, 60_000, 50, ANY_SLOTS)).filter((d) => d.artworkId === target.id);
      assert.equal(due.length, 1);
      assert.equal(due[0]?.url, 'https://example.com/hook');
      const again = await backend.store.claimDueDeliveries(Date.now() + 2, 60_000, 50, ANY_SLOTS);
      assert.equal(again.filter((d) => d.artworkId === target.id).length, 0, 'leased');
      const delivery = due[0];
      assert.ok(delivery);
      await backend.store.recordDeliveryAttempt(
        { deliveryId: delivery.id, attemptedAt: new Date().toISOString(), statusCode: 500, error: 'receiver answered 500', durationMs: 3 },
        { status: 'pending', nextAttemptAt: Date.now() - 1 },
      );
      const retried = (await backend.store.claimDueDeliveries(Date.now(), 60_000, 50, ANY_SLOTS)).filter((d) => d.artworkId === target.id);
      assert.equal(retried[0]?.attempts, 1);
      const attempts = await backend.store.listDeliveryAttempts(target.id);
      assert.deepEqual(attempts.map((a) => a.statusCode), [500]);
    });

    test('a job that keeps losing its worker fails after the attempt limit instead of looping', async () => {
      const target = await artwork();
      let now = Date.now() + 100_000;
      let claims = 0;
      for (;;) {
        const job = await backend.queue.claim(now, 1_000);
        if (!job) break;
        if (job.artworkId !== target.id) {
          await backend.queue.finish(job, success, new Date());
          continue;
        }
        claims++;
        now += 1_001;
      }
      assert.equal(claims, MAX_JOB_ATTEMPTS);
      const failed = await backend.store.getArtworkById(target.id);
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error?.code, 'WORKER_CRASHED');
    });

    test('cancel removes the job, so a running worker loses its lease', async () => {
      const target = await artwork();
      const job = await claimFor(target.id, Date.now() + 200_000);
      assert.ok(job);
      assert.equal(await backend.store.cancelArtwork(org.id, target.id, new Date()), 'canceled');
      assert.equal(await backend.queue.renew(job, Date.now(), 10_000), false);
      assert.equal(await backend.queue.finish(job, success, new Date()), false);
      assert.equal((await backend.store.getArtworkById(target.id))?.status, 'canceled');
      assert.equal(await backend.store.cancelArtwork(org.id, target.id, new Date()), 'already-final');
      assert.equal(await backend.store.cancelArtwork('00000000-0000-0000-0000-000000000000', target.id, new Date()), 'not-found');
    });

    test('release gives a job back without spending an attempt', async () => {
      const target = await artwork();
      const now = Date.now() + 300_000;
      const job = await claimFor(target.id, now, 60_000);
      assert.ok(job);
      await backend.queue.release(job);
      const again = await claimFor(target.id, now, 60_000);
      assert.equal(again?.attempts, 1);
    });

    test('claims are fair across organizations: the oldest ready job of the organization with the fewest running', async () => {
      // past every lease earlier tests left, and with their jobs drained, so only this test's jobs are ready
      const now = Date.now() + 100_000_000;
      for (let job = await backend.queue.claim(now, 60_000); job; job = await backend.queue.claim(now, 60_000)) {
        await backend.queue.finish(job, success, new Date());
      }
      const busy = await backend.store.createOrganization('busy', 'whsec_f');
      const quiet = await backend.store.createOrganization('quiet', 'whsec_f');
      const late = await backend.store.createOrganization('late', 'whsec_f');
      const t = Date.now();
      const jobOf = async (owner: Organization, ms: number) => {
        const created = newArtwork(owner.id, { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png' }, new Date(t + ms), 8);
        await backend.store.insertArtwork(created);
        return created.id;
      };
      const busyJobs = [await jobOf(busy, 0), await jobOf(busy, 1), await jobOf(busy, 2), await jobOf(busy, 3)];
      const quietJob = await jobOf(quiet, 10);
      const lateJob = await jobOf(late, 20);
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push((await backend.queue.claim(now, 60_000))?.artworkId ?? 'none');
      // none running: the oldest (busy); then quiet and late have none running; then one each: oldest first
      assert.deepEqual(order, [busyJobs[0], quietJob, lateJob, busyJobs[1], busyJobs[2], busyJobs[3]]);
      assert.equal(await backend.queue.claim(now, 60_000), null);
    });

    test('expired artworks are listed for deletion and deleted with their jobs', async () => {
      const old = await artwork(undefined, new Date(Date.now() - 9 * 86_400_000));
      const expired = await backend.store.listExpiredArtworks(new Date(), 100);
      assert.ok(expired.includes(old.id));
      await backend.store.deleteArtwork(old.id);
      assert.equal(await backend.store.getArtworkById(old.id), null);
    });

    test('keys are listed without secrets and revoked idempotently, only within their organization', async () => {
      const other = await backend.store.createOrganization('other', 'whsec_b');
      const key = await backend.store.createApiKey({ orgId: org.id, name: 'to-revoke', scope: 'generator', secretHash: `r-${name}` });
      const listed = await backend.store.listApiKeys(org.id);
      assert.ok(listed.some((k) => k.id === key.id && k.revokedAt === null && k.lastUsedAt === null));
      assert.ok(listed.every((k) => !('secretHash' in k)));
      assert.equal(await backend.store.revokeApiKey(other.id, key.id, new Date()), null, 'not from another organization');
      const revoked = await backend.store.revokeApiKey(org.id, key.id, new Date('2030-01-01T00:00:00Z'));
      assert.equal(revoked?.revokedAt, '2030-01-01T00:00:00.000Z');
      const again = await backend.store.revokeApiKey(org.id, key.id, new Date('2031-01-01T00:00:00Z'));
      assert.equal(again?.revokedAt, '2030-01-01T00:00:00.000Z', 'the first revocation time stays');
      assert.notEqual((await backend.store.findApiKeyBySecretHash(`r-${name}`))?.revokedAt, null);
      const now = new Date();
      await backend.store.touchApiKey(key.id, now);
      await backend.store.touchApiKey(key.id, new Date(now.getTime() + 1000));
      const touched = (await backend.store.listApiKeys(org.id)).find((k) => k.id === key.id);
      assert.equal(touched?.lastUsedAt, now.toISOString(), 'recorded at most once a minute');
    });

    test('webhook claims give each organization only its free slots', async () => {
      const slow = await backend.store.createOrganization('slow', 'whsec_s');
      const quick = await backend.store.createOrganization('quick', 'whsec_q');
      const now = new Date(Date.now() + 400_000);
      const enqueue = async (owner: Organization, count: number) => {
        for (let i = 0; i < count; i++) {
          const a = newArtwork(owner.id, { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png', webhook: `https://example.com/${owner.name}` }, now, 8);
          await backend.store.insertArtwork(a);
          assert.equal(await backend.store.cancelArtwork(owner.id, a.id, now), 'canceled');
        }
      };
      await enqueue(slow, 6);
      await enqueue(quick, 1);
      const mine = (d: { orgId: string }) => d.orgId === slow.id || d.orgId === quick.id;
      const first = (await backend.store.claimDueDeliveries(now.getTime() + 1, 60_000, 100, { perOrg: 3, busy: { [slow.id]: 1 } })).filter(mine);
      assert.equal(first.filter((d) => d.orgId === slow.id).length, 2, 'the slow organization fills its 3 slots, 1 of them busy');
      assert.equal(first.filter((d) => d.orgId === quick.id).length, 1, 'the other organization is not held up');
      const second = (await backend.store.claimDueDeliveries(now.getTime() + 2, 60_000, 100, { perOrg: 3, busy: { [slow.id]: 3 } })).filter(mine);
      assert.equal(second.length, 0, 'a full organization gets nothing more');
    });

    test('an Idempotency-Key whose request died is recovered: its artwork replayed, or the key taken over', async () => {
      const now = Date.now();
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k1-${name}`, 'h', now, 1000), { state: 'new' });
      const stored = newArtwork(org.id, { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png' }, new Date(now), 8);
      assert.equal(await backend.store.insertArtwork(stored, undefined, `k1-${name}`), 'inserted');
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k1-${name}`, 'h', now + 500, 1000), { state: 'in-flight' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k1-${name}`, 'other', now + 2000, 1000), { state: 'mismatch' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k1-${name}`, 'h', now + 2000, 1000), { state: 'recovered', artworkId: stored.id });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k2-${name}`, 'h', now, 1000), { state: 'new' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k2-${name}`, 'h', now + 2000, 1000), { state: 'new' }, 'nothing stored: taken over');
      assert.deepEqual(await backend.store.beginIdempotent(org.id, `k2-${name}`, 'h', now + 2500, 1000), { state: 'in-flight' }, 'held again');
    });

    test('uploads: stored, read back, listed for deletion once expired, deleted', async () => {
      const owner = await backend.store.createOrganization('uploads-expiry', 'whsec_e');
      const now = new Date();
      const live = { id: randomUUID(), orgId: owner.id, contentType: 'image/webp', bytes: 12, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() };
      const expired = { ...live, id: randomUUID(), contentType: 'image/jpeg', expiresAt: new Date(now.getTime() - 1).toISOString() };
      assert.equal(await backend.store.insertUpload(live, 1_000_000), 'inserted');
      assert.equal(await backend.store.insertUpload(expired, 1_000_000), 'inserted');
      assert.deepEqual(await backend.store.getUpload(live.id), live);
      assert.deepEqual(await backend.store.getUpload(expired.id), expired);
      assert.equal(await backend.store.getUpload(randomUUID()), null);
      assert.equal(await backend.store.getUpload('not-a-uuid'), null);
      const due = await backend.store.listExpiredUploads(now, 1000);
      assert.ok(due.includes(expired.id));
      assert.ok(!due.includes(live.id));
      await backend.store.deleteUpload(expired.id);
      assert.equal(await backend.store.getUpload(expired.id), null);
      assert.ok(!(await backend.store.listExpiredUploads(now, 1000)).includes(expired.id));
      assert.equal(await backend.store.insertUpload({ ...expired, id: randomUUID(), bytes: 999_988 }, 1_000_000), 'inserted', 'a deleted upload no longer counts against the quota');
    });

    test('Idempotency-Keys: new, in flight, mismatch, done, abandoned, per organization', async () => {
      const neighbour = await backend.store.createOrganization('neighbour-idem', 'whsec_i');
      const key = `idem-${name}`;
      const now = Date.now();
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'h', now, 60_000), { state: 'new' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'h', now + 1, 60_000), { state: 'in-flight' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'other', now + 1, 60_000), { state: 'mismatch' });
      assert.deepEqual(await backend.store.beginIdempotent(neighbour.id, key, 'other', now + 1, 60_000), { state: 'new' }, 'keys are per organization');
      await backend.store.finishIdempotent(org.id, key, 202, '{"id":"x"}');
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'h', now + 2, 60_000), { state: 'done', statusCode: 202, body: '{"id":"x"}' });
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'other', now + 2, 60_000), { state: 'mismatch' }, 'a finished key still refuses another request');
      await backend.store.abandonIdempotent(neighbour.id, key);
      assert.deepEqual(await backend.store.beginIdempotent(neighbour.id, key, 'third', now + 3, 60_000), { state: 'new' }, 'abandoned: the key is free again');
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'h', now + 3, 60_000), { state: 'done', statusCode: 202, body: '{"id":"x"}' }, 'abandoning one organization\'s key leaves the other\'s');
      await backend.store.deleteIdempotencyKeysBefore(now + 1);
      assert.deepEqual(await backend.store.beginIdempotent(org.id, key, 'fresh', now + 4, 60_000), { state: 'new' }, 'expired records are deleted');
      assert.deepEqual(await backend.store.beginIdempotent(neighbour.id, key, 'third', now + 4, 60_000), { state: 'in-flight' }, 'younger records stay');
    });

    test('rate tokens: a burst of perMinute, refilled over the minute, one bucket shared by every process', async () => {
      const orgId = randomUUID();
      const t = Date.now();
      const other = await backend.other();
      const decisions = [];
      // two processes draw alternately from the same bucket
      for (let i = 0; i < 4; i++) decisions.push(await (i % 2 ? other.store : backend.store).takeRateToken(orgId, 3, t));
      assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false]);
      assert.deepEqual(decisions.map((d) => d.remaining), [2, 1, 0, 0]);
      assert.equal(decisions[3]?.retryAfter, 20, 'one token comes back every 60/3 s');
      assert.equal(decisions[2]?.reset, 60);
      assert.equal((await other.store.takeRateToken(orgId, 3, t + 19_000)).allowed, false);
      const refilled = await backend.store.takeRateToken(orgId, 3, t + 20_000);
      assert.deepEqual([refilled.allowed, refilled.remaining], [true, 0]);
      assert.equal((await backend.store.takeRateToken(randomUUID(), 3, t)).remaining, 2, 'buckets are per organization');
      const full = await other.store.takeRateToken(orgId, 3, t + 10 * 60_000);
      assert.equal(full.remaining, 2, 'a bucket never holds more than perMinute');
    });

    test('credits are spent in the create transaction, and none on a refused create', async () => {
      const owner = await backend.store.createOrganization('paying', 'whsec_p');
      const params = { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors' as const, denoising: 3, outputFormat: 'png' as const };
      const create = (maxUnfinished?: number) => backend.store.insertArtwork(newArtwork(owner.id, params, new Date(), 8), maxUnfinished);
      const credits = async () => (await backend.store.getOrganization(owner.id))?.credits;
      assert.equal(await credits(), null, 'unlimited until set');
      await backend.store.setCredits(owner.id, { add: 2 });
      assert.equal(await create(), 'inserted');
      assert.equal(await credits(), 1);
      assert.equal(await create(1), 'too-many-unfinished');
      assert.equal(await credits(), 1, 'a create refused for its unfinished artworks spends nothing');
      assert.equal(await create(), 'inserted');
      assert.equal(await credits(), 0);
      assert.equal(await create(), 'no-credits');
      assert.equal(await credits(), 0);
      assert.equal((await backend.store.listArtworks(owner.id, 0, 10)).length, 2, 'refused creates stored nothing');
      await backend.store.setCredits(owner.id, { add: -5 });
      assert.equal(await credits(), 0, 'never below zero');
      await backend.store.setCredits(owner.id, { unlimited: true });
      assert.equal(await create(), 'inserted');
      assert.equal(await credits(), null);
      await backend.store.setLimits(owner.id, { rateLimitPerMinute: 7, maxUnfinished: 9 });
      const limited = await backend.store.getOrganization(owner.id);
      assert.deepEqual([limited?.rateLimitPerMinute, limited?.maxUnfinished], [7, 9]);
    });

    test('uploads count against their organization quota', async () => {
      const owner = await backend.store.createOrganization('uploader', 'whsec_u');
      const neighbour = await backend.store.createOrganization('neighbour', 'whsec_n');
      const upload = (orgId: string, bytes: number) => ({
        id: randomUUID(),
        orgId,
        contentType: 'image/png',
        bytes,
        createdAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
      assert.equal(await backend.store.insertUpload(upload(owner.id, 600), 1000), 'inserted');
      assert.equal(await backend.store.insertUpload(upload(owner.id, 600), 1000), 'over-quota');
      assert.equal(await backend.store.insertUpload(upload(owner.id, 400), 1000), 'inserted', 'exactly the quota fits');
      assert.equal(await backend.store.insertUpload(upload(neighbour.id, 600), 1000), 'inserted', 'quotas are per organization');
      assert.equal(await backend.store.uploadBytes(owner.id), 1000, 'what the quota counts, before a body is read');
      assert.equal(await backend.store.uploadBytes(neighbour.id), 600);
      const first = upload(owner.id, 1);
      assert.equal(await backend.store.insertUpload(first, 1001), 'inserted');
      assert.equal((await backend.store.getUpload(first.id))?.bytes, 1);
    });
  });
}
