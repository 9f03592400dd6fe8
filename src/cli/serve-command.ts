import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { startService } from '../main.js';
import { UsageError } from './usage.js';

/** `serve` runs the API and workers (`--no-worker`: the API only); `worker` runs workers only. */
export async function serveCommand(args: string[], config: Config, mode: 'serve' | 'worker'): Promise<void> {
  const { values } = parseArgs({ args, options: { 'no-worker': { type: 'boolean', default: false } } });
  if (mode === 'worker' && values['no-worker']) throw new UsageError('--no-worker goes with serve, not worker');
  const service = await startService(
    config,
    mode === 'worker' ? { api: false, worker: true } : { api: true, worker: !values['no-worker'] },
  );
  let signals = 0;
  const shutdown = (signal: string): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`face-refiner: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`face-refiner: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
