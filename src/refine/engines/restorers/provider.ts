import fsp from 'node:fs/promises';
import type { EngineBinding, EngineProvider, EngineReadiness, FaceEngine } from '../engine.js';
import type { RestorerSettings } from '../settings.js';
import { RestorerCatalogue, type RestorerEntry } from './catalogue.js';
import { ModelFiles, unusableReason } from './model-files.js';
import { RestorerEngine } from './restorer-engine.js';
import { loadRestorer } from './session.js';

/** Learned restorers from the catalogue: ready when the file is there and passes its hash (or has none to pass). */
export function restorerProvider(settings: RestorerSettings): EngineProvider {
  const catalogue = new RestorerCatalogue(settings.modelsDir, settings.userEntries);
  const files = new ModelFiles(catalogue);

  const entryOf = (binding: EngineBinding): RestorerEntry => {
    if (binding.kind !== 'restorer') throw new Error(`restorer provider asked about a ${binding.kind} binding`);
    const entry = catalogue.get(binding.model);
    if (!entry) {
      throw new Error(`Expected a restorer from the catalogue (${catalogue.names().join(', ')}) or an entry of MODELS_FILE but received "${binding.model}"`);
    }
    return entry;
  };

  const readiness = async (binding: EngineBinding): Promise<EngineReadiness> => {
    const entry = entryOf(binding);
    const status = await files.status(entry);
    const reason = unusableReason(entry, status);
    if (reason) return { ready: false, reason };
    // the file as it is now: a pull that replaces it makes each refine thread load the new one
    const stat = await fsp.stat(status.file).catch(() => undefined);
    return {
      ready: true,
      detail: status.state === 'verified' ? `${status.file} (${status.by} verified)` : `${status.file} (unverified: MODELS_FILE gives no sha256)`,
      ...(stat ? { revision: `${stat.size}:${stat.mtimeMs}:${stat.ino}` } : {}),
    };
  };

  return {
    kind: 'restorer',
    validate: (binding) => void entryOf(binding),
    readiness,
    async create(binding): Promise<FaceEngine> {
      const entry = entryOf(binding);
      const ready = await readiness(binding);
      if (!ready.ready) throw new Error(ready.reason);
      const loaded = await loadRestorer(entry, catalogue.pathOf(entry), settings);
      return new RestorerEngine(loaded);
    },
  };
}
