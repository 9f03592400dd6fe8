import type { Config } from './config.js';
import type { EngineSettings } from './refine/engines/settings.js';

/** The engines' part of the configuration, as plain data for the registry and every refine thread. */
export function engineSettings(config: Config): EngineSettings {
  return {
    bindings: config.modelEngines,
    restorers: {
      modelsDir: config.modelsDir,
      userEntries: [],
      executionProvider: config.executionProvider,
      intraOpThreads: config.inferenceThreads,
    },
  };
}
