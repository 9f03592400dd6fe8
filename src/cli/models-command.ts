import fsp from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { engineSettings } from '../engine-settings.js';
import { DownloadError, type Progress } from '../models/download.js';
import { HashMismatchError, pullModel } from '../models/pull.js';
import { addressPolicy, createOutboundAgent } from '../net/guarded-agent.js';
import { RestorerCatalogue, type RestorerEntry } from '../refine/engines/restorers/catalogue.js';
import { hashFileOf, ModelFiles } from '../refine/engines/restorers/model-files.js';
import { UsageError } from './usage.js';

const MB = 1024 * 1024;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

function catalogueOf(config: Config): RestorerCatalogue {
  return new RestorerCatalogue(config.modelsDir, engineSettings(config).restorers.userEntries);
}

function entryNamed(catalogue: RestorerCatalogue, name: string | undefined): RestorerEntry {
  if (!name) throw new UsageError(`Expected a model name for models pull: one of ${catalogue.names().join(', ')}`);
  const entry = catalogue.get(name);
  if (!entry) throw new UsageError(`Expected one of ${catalogue.names().join(', ')} (or a MODELS_FILE entry) but received "${name}"`);
  return entry;
}

/** A progress bar with bytes and rate on a terminal; a plain line every 10% (or every 50 MB without a total) otherwise. */
function progressReporter(name: string, out: NodeJS.WriteStream): (p: Progress) => void {
  let lastDraw = 0;
  let lastStep = -1;
  return (p) => {
    const rate = `${mb(p.bytesPerSecond)}/s`;
    const share = p.total ? p.received / p.total : undefined;
    if (out.isTTY) {
      const now = performance.now();
      if (now - lastDraw < 100 && p.received !== p.total) return;
      lastDraw = now;
      const width = 30;
      const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] `;
      out.write(`\r${name} ${bar}${mb(p.received)}${p.total ? ` / ${mb(p.total)}` : ''} ${rate}   `);
      if (p.received === p.total) out.write('\n');
      return;
    }
    const step = share === undefined ? Math.floor(p.received / (50 * MB)) : Math.floor(share * 10);
    if (step === lastStep) return;
    lastStep = step;
    out.write(`${name}: ${mb(p.received)}${p.total ? ` of ${mb(p.total)} (${Math.round((share ?? 0) * 100)}%)` : ''}, ${rate}\n`);
  };
}

async function list(config: Config, json: boolean): Promise<void> {
  const catalogue = catalogueOf(config);
  const rows = await Promise.all(
    catalogue.list().map(async (entry) => {
      const file = catalogue.pathOf(entry);
      const stat = await fsp.stat(file).catch(() => undefined);
      const hashed = (await fsp.stat(hashFileOf(file)).catch(() => undefined)) !== undefined;
      return {
        name: entry.name,
        kind: entry.kind,
        size: entry.size,
        template: entry.template,
        installed: stat?.isFile() === true,
        bytes: stat?.isFile() ? stat.size : null,
        hash: entry.sha256 ? 'sha256' : entry.origin === 'built-in' ? 'crc32' : hashed ? 'crc32' : 'none',
        file,
        origin: entry.origin,
        licence: entry.licence ?? null,
      };
    }),
  );
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  // an operator's entry with no hash anywhere is used as it is: the list says so
  const state = (r: (typeof rows)[number]): string =>
    r.installed ? `installed${r.hash === 'none' ? ', unverified' : ''} (${mb(r.bytes ?? 0)})` : 'not installed';
  const lines = rows.map((r) => [r.name.padEnd(24), r.kind.padEnd(13), String(r.size).padEnd(6), state(r).padEnd(32), r.file].join(' '));
  process.stdout.write(`${['name'.padEnd(24), 'kind'.padEnd(13), 'size'.padEnd(6), 'state'.padEnd(32), 'where'].join(' ')}\n${lines.join('\n')}\n`);
  process.stdout.write(`Pull one with: face-refiner models pull NAME; check files with: face-refiner models verify\n`);
}

async function pull(config: Config, name: string | undefined, url: string | undefined): Promise<void> {
  const catalogue = catalogueOf(config);
  const entry = entryNamed(catalogue, name);
  const policy = addressPolicy(config.allowPrivateNetworks);
  const dispatcher = createOutboundAgent(policy, Math.min(10_000, config.fetchTimeoutMs));
  try {
    const outcome = await pullModel(catalogue, entry, {
      dispatcher,
      policy,
      maxBytes: entry.maxBytes,
      idleTimeoutMs: config.fetchTimeoutMs,
      onProgress: progressReporter(entry.name, process.stderr),
      log: (line) => process.stderr.write(`${line}\n`),
      ...(url ? { url } : {}),
    });
    const how = outcome.verifiedBy === 'none' ? 'not verified (no hash given)' : `${outcome.verifiedBy} verified`;
    process.stdout.write(
      outcome.state === 'installed'
        ? `${entry.name}: installed ${outcome.file} (${mb(outcome.bytes)}, ${how})\n`
        : `${entry.name}: already installed at ${outcome.file} (${how})\n`,
    );
  } catch (error) {
    if (error instanceof HashMismatchError || error instanceof DownloadError) {
      process.stderr.write(`face-refiner: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  } finally {
    await dispatcher.close();
  }
}

async function verify(config: Config, names: string[]): Promise<void> {
  const catalogue = catalogueOf(config);
  const files = new ModelFiles(catalogue);
  const entries = names.length > 0 ? names.map((n) => entryNamed(catalogue, n)) : catalogue.list();
  let failed = false;
  for (const entry of entries) {
    const status = await files.status(entry, { force: true });
    if (status.state === 'missing' && names.length === 0) continue;
    const line =
      status.state === 'verified' ? `ok (${status.by})`
      : status.state === 'unverified' ? 'present, unverified (MODELS_FILE gives no sha256)'
      : status.state === 'missing' ? 'missing'
      : status.state === 'no-hash' ? `no published hash beside it (${status.hashFile}); run face-refiner models pull ${entry.name}`
      : `MISMATCH: ${status.by} ${status.actual}, expected ${status.expected}`;
    if (status.state === 'mismatch' || status.state === 'missing' || status.state === 'no-hash') failed = true;
    process.stdout.write(`${entry.name}: ${line} ${status.file}\n`);
  }
  if (failed) process.exitCode = 1;
}

export async function modelsCommand(args: string[], config: Config): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false }, url: { type: 'string' } } });
  switch (sub) {
    case 'list':
      return list(config, values.json);
    case 'pull':
      if (positionals.length > 1) throw new UsageError('Expected one model name for models pull');
      return pull(config, positionals[0], values.url);
    case 'verify':
      return verify(config, positionals);
    default:
      throw new UsageError(`Expected models list [--json] | pull NAME [--url URL] | verify [NAME...] but received "${sub ?? ''}"`);
  }
}
