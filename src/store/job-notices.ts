import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from './database.js';

/**
 * New jobs announced to workers in other processes: PostgreSQL's LISTEN/NOTIFY. The payload is the schema the
 * job was written to, so deployments sharing one database (a schema each) wake only their own workers.
 */
const CHANNEL = 'face_refiner_jobs';

/**
 * Announces a job that can be claimed now. Sent in the caller's transaction: PostgreSQL delivers it on commit,
 * so a listener never hears of a row it cannot see yet, nor of a rolled-back one. SQLite has no equivalent;
 * its workers are woken in the process that creates the job, or poll.
 */
export async function announceJob({ db, dialect }: Db): Promise<void> {
  if (dialect === 'postgres') await sql`SELECT pg_notify(${CHANNEL}, current_schema())`.execute(db);
}

export interface NoticeHandlers {
  /** A job was announced in this connection's schema. */
  notice(): void;
  /** The connection was lost (not called after close()); announcements sent meanwhile are not delivered. */
  ended(error: Error): void;
}

export interface NoticeConnection {
  close(): Promise<void>;
}

/**
 * Opens one connection of its own (LISTEN holds its session, so it cannot be a pooled one) and listens for
 * announced jobs. Rejects when the connection or the LISTEN fails; once listening, a lost connection is told
 * through `ended` exactly once, and the caller opens a new one.
 */
export async function listenForJobs(connectionString: string, handlers: NoticeHandlers): Promise<NoticeConnection> {
  // keepAlive: a peer that vanished without closing the socket (a lost machine) is noticed by TCP probes
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
  let listening = false;
  let closed = false;
  const lost = (error: Error): void => {
    if (!listening || closed) return;
    closed = true;
    handlers.ended(error);
    client.end().catch(() => undefined);
  };
  client.on('error', lost);
  client.on('end', () => lost(new Error('the listening connection was closed by the server')));
  try {
    await client.connect();
    const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    const schema = rows[0]?.schema ?? '';
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload === schema) handlers.notice();
    });
    await client.query(`LISTEN ${CHANNEL}`);
    listening = true;
  } catch (error) {
    closed = true;
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await client.end().catch(() => undefined);
    },
  };
}
