import fs from 'node:fs';
import { ConfigError, type Config } from './config.js';
import { engineProviders, type EngineRuntime } from './refine/engines/providers.js';
import { EngineRegistry } from './refine/engines/registry.js';
import { parseUserEntries, type RestorerEntry } from './refine/engines/restorers/catalogue.js';
import { DEFAULT_GENERATION } from './refine/engines/comfyui/engine.js';
import type { ComfySettings } from './refine/engines/comfyui/provider.js';
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

function comfySettings(config: Config): ComfySettings | undefined {
  const comfy = config.comfyui;
  if (!comfy) return undefined;
  let workflow: ComfySettings['workflow'];
  if (comfy.workflowFile !== undefined) {
    try {
      workflow = { source: comfy.workflowFile, text: fs.readFileSync(comfy.workflowFile, 'utf8') };
    } catch (error) {
      throw new ConfigError(`COMFYUI_WORKFLOW ${comfy.workflowFile} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    urls: comfy.urls,
    workflow,
    generation: {
      positive: comfy.positivePrompt ?? DEFAULT_GENERATION.positive,
      negative: comfy.negativePrompt ?? DEFAULT_GENERATION.negative,
      sampler: comfy.sampler ?? DEFAULT_GENERATION.sampler,
      scheduler: comfy.scheduler ?? DEFAULT_GENERATION.scheduler,
      steps: comfy.steps ?? DEFAULT_GENERATION.steps,
      cfg: comfy.cfg ?? DEFAULT_GENERATION.cfg,
      facesInFlight: comfy.facesInFlight ?? DEFAULT_GENERATION.facesInFlight,
    },
    callTimeoutMs: comfy.callTimeoutMs,
    renderTimeoutMs: comfy.renderTimeoutMs,
  };
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
    comfyui: comfySettings(config),
  };
}

/** The engines' registry; a binding that can never work (an unknown restorer, an engine not in this build) stops the start. */
export function engineRegistry(settings: EngineSettings, runtime?: EngineRuntime): EngineRegistry {
  try {
    return new EngineRegistry(settings, engineProviders(settings, runtime));
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
}
