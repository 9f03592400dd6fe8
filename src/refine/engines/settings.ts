import type { ModelName } from '../../artworks/artwork.js';
import type { ComfySettings } from './comfyui/provider.js';
import type { EngineBinding } from './engine.js';
import type { RestorerEntry } from './restorers/catalogue.js';

/**
 * Everything engines need, as plain data: made by the composition root from Config, and sent as is to every
 * refine worker thread, where the providers are rebuilt from it. Engines added later put their own part here.
 */
export interface EngineSettings {
  /** MODEL_ENGINES; API models not listed use the classical engine. */
  bindings: Partial<Record<ModelName, EngineBinding>>;
  restorers: RestorerSettings;
  /** ComfyUI servers (COMFYUI_URLS and the generation settings); undefined when COMFYUI_URLS is not set. */
  comfyui?: ComfySettings;
}

export interface RestorerSettings {
  /** Where pulled model files live (MODELS_DIR). */
  modelsDir: string;
  /** The operator's own catalogue entries (MODELS_FILE), already read and checked. */
  userEntries: RestorerEntry[];
  /** ONNX Runtime's execution provider. */
  executionProvider: 'cpu' | 'cuda';
  /** ONNX Runtime intra-op threads per inference session (each refine thread has its own session). */
  intraOpThreads: number;
}
