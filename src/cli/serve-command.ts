import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { startService } from '../main.js';

export async function serveCommand(args: string[], config: Config): Promise<void> {
  parseArgs({ args, options: {} });
  const service = await startService(config, { api: true, worker: true });
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
