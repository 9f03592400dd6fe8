import fs from 'node:fs';
import { ConfigError, type Config } from './config.js';
import { parseUserEntries, type RestorerEntry } from './refine/engines/restorers/catalogue.js';
import type { EngineSettings } from './refine/engines/settings.js';

function userEntries(file: string | undefined): RestorerEntry[] {
  if (file === undefined) return [];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`MODELS_FILE ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseUserEntries(text, `MODELS_FILE ${file}`);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
}

/** The engines' part of the configuration, as plain data for the registry and every refine thread. */
export function engineSettings(config: Config): EngineSettings {
  return {
    bindings: config.modelEngines,
    restorers: {
      modelsDir: config.modelsDir,
      userEntries: userEntries(config.modelsFile),
      executionProvider: config.executionProvider,
      intraOpThreads: config.inferenceThreads,
    },
  };
}
