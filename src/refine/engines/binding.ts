import { MODELS, type ModelName } from '../../artworks/artwork.js';
import type { EngineBinding } from './engine.js';

/** A restorer name: what the catalogue and MODELS_FILE accept (letters, digits, `.`, `_`, `-`). */
export const RESTORER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * One engine spec of MODEL_ENGINES: `classical`, a restorer's catalogue name (`gfpgan_1.4`), or
 * `comfyui:<checkpoint>`. Whether a restorer name is in the catalogue is checked once the catalogue is loaded.
 */
export function parseEngineSpec(spec: string): EngineBinding {
  const text = spec.trim();
  if (text === 'classical') return { kind: 'classical' };
  if (text.startsWith('comfyui:')) {
    const checkpoint = text.slice('comfyui:'.length).trim();
    if (checkpoint === '' || /[\s,=]/.test(checkpoint)) {
      throw new Error(`Expected comfyui:<checkpoint file name> but received "${spec}"`);
    }
    return { kind: 'comfyui', checkpoint };
  }
  if (!RESTORER_NAME.test(text)) {
    throw new Error(`Expected classical, a restorer name such as gfpgan_1.4, or comfyui:<checkpoint> but received "${spec}"`);
  }
  return { kind: 'restorer', model: text };
}

/**
 * MODEL_ENGINES: `apiModel=engineSpec,...`. Keys must be API model values; unlisted models stay classical.
 * Throws with what was wrong and what is accepted.
 */
export function parseModelEngines(text: string | undefined): Partial<Record<ModelName, EngineBinding>> {
  const bindings: Partial<Record<ModelName, EngineBinding>> = {};
  if (text === undefined || text.trim() === '') return bindings;
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    if (at < 0) throw new Error(`Expected model=engine entries but received "${entry.trim()}"`);
    const model = entry.slice(0, at).trim();
    if (!(MODELS as readonly string[]).includes(model)) {
      throw new Error(`Expected one of ${MODELS.join(', ')} before "=" but received "${model}"`);
    }
    if (bindings[model as ModelName]) throw new Error(`Expected each model once but ${model} is bound twice`);
    bindings[model as ModelName] = parseEngineSpec(entry.slice(at + 1));
  }
  return bindings;
}
