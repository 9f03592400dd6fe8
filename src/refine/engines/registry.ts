import { MODELS, type ModelName } from '../../artworks/artwork.js';
import { engineName, ModelUnavailableError, type EngineBinding, type EngineKind, type EngineProvider, type EngineReadiness, type FaceEngine } from './engine.js';
import type { EngineSettings } from './settings.js';

/** One API model value as GET /v2/models shows it. */
export interface ModelReadiness {
  model: ModelName;
  engine: string;
  kind: EngineKind;
  ready: boolean;
  /** Why it is not ready, and what to do (e.g. the pull command). */
  reason?: string;
  detail?: string;
}

const CLASSICAL: EngineBinding = { kind: 'classical' };

/**
 * The API models' engines: which engine each model is bound to, whether it is ready, and (in a refine thread)
 * the engine itself, built once per thread and reused. One registry per process or thread, from the same
 * EngineSettings, so the API and the workers agree.
 */
export class EngineRegistry {
  private readonly providers = new Map<EngineKind, EngineProvider>();
  private readonly engines = new Map<string, { revision: string | undefined; engine: Promise<FaceEngine> }>();

  /** Throws (at start) when a binding names an engine kind or a model that cannot exist. */
  constructor(
    private readonly settings: EngineSettings,
    providers: EngineProvider[],
  ) {
    for (const provider of providers) this.providers.set(provider.kind, provider);
    for (const model of MODELS) {
      const binding = this.bindingFor(model);
      const provider = this.providers.get(binding.kind);
      // a binding this build cannot run stops the start, like a typo, instead of failing every job for it
      if (!provider) {
        throw new Error(`MODEL_ENGINES: ${model}: Expected an engine of this build (${[...this.providers.keys()].join(', ')}) but received a ${binding.kind} binding`);
      }
      try {
        provider.validate?.(binding);
      } catch (error) {
        throw new Error(`MODEL_ENGINES: ${model}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  bindingFor(model: ModelName): EngineBinding {
    return this.settings.bindings[model] ?? CLASSICAL;
  }

  async readiness(model: ModelName, signal?: AbortSignal): Promise<EngineReadiness> {
    const binding = this.bindingFor(model);
    const provider = this.providers.get(binding.kind);
    if (!provider) return { ready: false, reason: `the ${binding.kind} engine is not available in this process` };
    try {
      return await provider.readiness(binding, signal);
    } catch (error) {
      return { ready: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Every API model: its engine and whether it is ready now. */
  async report(signal?: AbortSignal): Promise<ModelReadiness[]> {
    return Promise.all(
      MODELS.map(async (model) => {
        const binding = this.bindingFor(model);
        const readiness = await this.readiness(model, signal);
        return {
          model,
          engine: engineName(binding),
          kind: binding.kind,
          ready: readiness.ready,
          ...(readiness.ready ? (readiness.detail ? { detail: readiness.detail } : {}) : { reason: readiness.reason }),
        };
      }),
    );
  }

  /**
   * The engine for a job's model, built on first use and kept (sessions once per thread). A model whose engine
   * is not ready is a ModelUnavailableError (the job fails with MODEL_UNAVAILABLE), never another engine.
   */
  async engineFor(model: ModelName, signal?: AbortSignal): Promise<FaceEngine> {
    const binding = this.bindingFor(model);
    const name = engineName(binding);
    const readiness = await this.readiness(model, signal);
    if (!readiness.ready && !readiness.unreachable) throw new ModelUnavailableError(model, name, readiness.reason);
    const revision = readiness.ready ? readiness.revision : undefined;
    let built = this.engines.get(name);
    if (built?.revision !== revision) {
      // its file was replaced (a new pull): this job and the next use the new one; the old one is freed
      if (built) void built.engine.then((old) => old.close?.(), () => undefined);
      built = undefined;
    }
    if (!built) {
      const provider = this.providers.get(binding.kind) as EngineProvider;
      const fresh = { revision, engine: provider.create(binding) };
      this.engines.set(name, fresh);
      // a failed build is not kept: the operator may fix the file and the next job tries again
      fresh.engine.catch(() => {
        if (this.engines.get(name) === fresh) this.engines.delete(name);
      });
      built = fresh;
    }
    const engine = built.engine;
    try {
      return await engine;
    } catch (error) {
      throw new ModelUnavailableError(model, name, error instanceof Error ? error.message : String(error));
    }
  }

  async close(): Promise<void> {
    const engines = await Promise.allSettled([...this.engines.values()].map((built) => built.engine));
    this.engines.clear();
    for (const built of engines) if (built.status === 'fulfilled') await built.value.close?.();
  }
}
