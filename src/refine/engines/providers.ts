import type { FacePool } from '../face-pool.js';
import { classicalProvider } from './classical.js';
import { comfyuiProvider } from './comfyui/provider.js';
import type { EngineProvider } from './engine.js';
import { restorerProvider } from './restorers/provider.js';
import type { EngineSettings } from './settings.js';

/** What a refine thread has that plain settings cannot carry. */
export interface EngineRuntime {
  /** Helper threads for the classical engine's faces. */
  facePool?: FacePool;
}

/**
 * Every engine kind this build knows, built from the same settings in every process and thread. A new kind of
 * engine registers here: one line, with its part of EngineSettings.
 */
export function engineProviders(settings: EngineSettings, runtime: EngineRuntime = {}): EngineProvider[] {
  return [classicalProvider(runtime.facePool), restorerProvider(settings.restorers), comfyuiProvider(settings.comfyui)];
}
