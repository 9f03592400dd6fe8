import type { EngineBinding, EngineProvider, EngineReadiness, FaceEngine } from '../engine.js';
import { checkpointBinding } from './binding.js';
import { ComfyCluster, DEFAULT_CLUSTER, type CheckpointProbe } from './cluster.js';
import { ComfyFaceEngine, type GenerationSettings } from './engine.js';
import { WorkflowTemplate } from './workflow.js';

/** ComfyUI's part of EngineSettings: plain data, sent to every refine thread. */
export interface ComfySettings {
  urls: string[];
  /** A user's template (COMFYUI_WORKFLOW), read at start; undefined: the built-in one. */
  workflow: { source: string; text: string } | undefined;
  generation: GenerationSettings;
  /** Deadline of each small HTTP call (queue, history, prompt, object_info); uploads and downloads get 6x. */
  callTimeoutMs: number;
  /** Longest a face may take from queueing to its result, queue wait included. */
  renderTimeoutMs: number;
}

/** How long a probe of /object_info is reused: readiness is asked before every job and by every /readyz. */
const PROBE_TTL_MS = 5_000;

export function templateOf(settings: ComfySettings): WorkflowTemplate {
  return settings.workflow ? WorkflowTemplate.parse(settings.workflow.text, settings.workflow.source) : WorkflowTemplate.builtIn();
}

function describeProbes(checkpoint: string, probes: CheckpointProbe[]): EngineReadiness {
  const having = probes.filter((probe) => probe.checkpoints?.includes(checkpoint));
  if (having.length > 0) return { ready: true, detail: `${checkpoint} on ${having.length} of ${probes.length} ComfyUI instances` };
  const why = probes.map((probe) =>
    probe.checkpoints
      ? `${probe.instance} has ${probe.checkpoints.length > 0 ? probe.checkpoints.slice(0, 5).join(', ') : 'no checkpoints'}`
      : `${probe.instance} did not answer (${probe.error ?? 'unknown error'})`,
  );
  // when no instance answered, nothing says the checkpoint is missing: jobs go on and the engine's retries decide
  const unreachable = probes.every((probe) => !probe.checkpoints);
  return { ready: false, reason: `no ComfyUI instance of COMFYUI_URLS has the checkpoint ${checkpoint}: ${why.join('; ')}`, unreachable };
}

/**
 * ComfyUI checkpoints: ready when at least one instance lists the checkpoint in
 * GET /object_info/CheckpointLoaderSimple (asked at start and then at most every few seconds).
 */
export function comfyuiProvider(settings: ComfySettings | undefined): EngineProvider {
  let cluster: ComfyCluster | undefined;
  let probe: { at: number; result: Promise<CheckpointProbe[]> } | undefined;
  const clusterOf = (configured: ComfySettings): ComfyCluster => {
    cluster ??= new ComfyCluster(configured.urls, {
      ...DEFAULT_CLUSTER,
      timeouts: { callMs: configured.callTimeoutMs, transferMs: 6 * configured.callTimeoutMs },
      follow: { ...DEFAULT_CLUSTER.follow, renderTimeoutMs: configured.renderTimeoutMs },
    });
    return cluster;
  };
  const configured = (): ComfySettings => {
    if (!settings) throw new Error('Expected COMFYUI_URLS (base URLs of ComfyUI servers) for a comfyui: binding but it is not set');
    return settings;
  };
  const probes = (): Promise<CheckpointProbe[]> => {
    const now = Date.now();
    if (!probe || now - probe.at > PROBE_TTL_MS) probe = { at: now, result: clusterOf(configured()).probeCheckpoints() };
    return probe.result;
  };
  return {
    kind: 'comfyui',
    validate(binding: EngineBinding): void {
      checkpointBinding(binding);
      templateOf(configured());
    },
    async readiness(binding: EngineBinding): Promise<EngineReadiness> {
      const { checkpoint } = checkpointBinding(binding);
      configured();
      return describeProbes(checkpoint, await probes());
    },
    async create(binding: EngineBinding): Promise<FaceEngine> {
      const config = configured();
      return new ComfyFaceEngine(checkpointBinding(binding), templateOf(config), config.generation, clusterOf(config));
    },
  };
}
