#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config.js';
import { JobError } from '../errors.js';
import { keysCommand } from './keys-command.js';
import { refineCommand } from './refine-command.js';
import { serveCommand } from './serve-command.js';
import { USAGE, UsageError } from './usage.js';
import { migrateCommand } from './migrate-command.js';
import { modelsCommand } from './models-command.js';
import { orgsCommand } from './orgs-command.js';
import { UnusableDatabaseError } from '../store/database.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const asksForHelp = (word: string | undefined): boolean => word === '--help' || word === '-h';
  if (command === undefined || command === 'help' || asksForHelp(command) || args.some(asksForHelp)) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serveCommand(args, config, 'serve');
    case 'worker':
      return serveCommand(args, config, 'worker');
    case 'refine':
      return refineCommand(args, config);
    case 'keys':
      return keysCommand(args, config);
    case 'orgs':
      return orgsCommand(args, config);
    case 'migrate':
      return migrateCommand(config);
    case 'models':
      return modelsCommand(args, config);
    default:
      throw new UsageError(`Expected one of serve, worker, refine, keys, orgs, migrate, models but received "${command}"`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UnusableDatabaseError) {
    process.stderr.write(`face-refiner: ${error.message}\n`);
    process.exit(1);
  }
  // node:util parseArgs refuses unknown options and missing values with these codes: a usage error too
  const parseArgsError = (error as NodeJS.ErrnoException | undefined)?.code?.startsWith('ERR_PARSE_ARGS') === true;
  if (error instanceof UsageError || error instanceof ConfigError || parseArgsError) {
    process.stderr.write(`face-refiner: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (error instanceof JobError) {
    process.stderr.write(`face-refiner: ${error.code}: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`face-refiner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
