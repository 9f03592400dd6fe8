import type { ModelName } from '../../artworks/artwork.js';
import { JobError } from '../../errors.js';
import type { DetectedFace } from '../detect.js';
import type { FaceWork } from '../face-work.js';
import type { RgbImage } from '../image.js';

/**
 * What every face-refining engine is given: the whole photo (upright, read only), the faces found in it (with the
 * face mesh's landmarks when the mesh confirmed them) and the job's parameters.
 */
export interface FaceEngineRequest {
  image: RgbImage;
  faces: DetectedFace[];
  model: ModelName;
  /** 1..5: how strongly the result replaces the face (each engine documents its own table). */
  denoising: number;
  /** Generative engines seed their sampler with it; deterministic engines ignore it. */
  seed: number | undefined;
  /** Aborted when the job is canceled or its lease is lost: an engine waiting on the network must stop. */
  signal: AbortSignal | undefined;
}

/**
 * A face-refining engine. It returns, per face and in the order of `request.faces`, the face's change in an
 * aligned frame (FaceWork: the frame, and the change already weighted by our feathered face mask), or null for a
 * face it left alone. The pipeline writes every change back the same way (src/refine/blend.ts), so pixels
 * outside the masks stay bit-identical whatever the engine. An engine that produces a restored face image
 * rather than a change turns it into a FaceWork with `restoredFaceWork` (./aligned-face.ts), which applies our
 * masks and colour matching.
 *
 * An engine may await anything (worker threads, inference sessions, HTTP): the pipeline awaits it inside a
 * refine worker thread, off the service's event loop. It must honour `request.signal`.
 */
export interface FaceEngine {
  /** Reported on each artwork (`engine`) and by `refine --json`: the catalogue name, `classical`, `comfyui:<ckpt>`. */
  readonly name: string;
  refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>>;
  /**
   * The same as refineFaces, the same bytes, but off the calling thread (the classical engine on its helper
   * threads): the pipeline gives it the faces a detector finished with early, while the calling thread goes on
   * detecting. An engine without it is given every face once detection has ended.
   */
  refineFacesAside?(request: FaceEngineRequest): Promise<Array<FaceWork | null>>;
  /** Frees sessions, sockets and threads. */
  close?(): Promise<void>;
}

/**
 * Which engine an API `model` value is bound to (MODEL_ENGINES). Parsed from text by `parseEngineSpec`, so a
 * typo stops the start instead of failing jobs.
 */
export type EngineBinding =
  | { kind: 'classical' }
  /** A learned restorer from the catalogue (built in, or from MODELS_FILE), run by ONNX Runtime. */
  | { kind: 'restorer'; model: string }
  /** A generative engine: ComfyUI with this checkpoint. */
  | { kind: 'comfyui'; checkpoint: string };

export type EngineKind = EngineBinding['kind'];

/** The name an engine reports, derived from its binding alone (so the API process can say it without loading). */
export function engineName(binding: EngineBinding): string {
  switch (binding.kind) {
    case 'classical':
      return 'classical';
    case 'restorer':
      return binding.model;
    case 'comfyui':
      return `comfyui:${binding.checkpoint}`;
  }
}

/** Whether an engine can take jobs now, and if not, what to do about it (shown by GET /v2/models and /readyz). */
export type EngineReadiness =
  | {
      ready: true;
      detail?: string;
      /** Changes when what the engine is built from changes (a model file replaced): the engine is built again. */
      revision?: string;
    }
  | {
      ready: false;
      reason: string;
      /**
       * Nothing is known to be missing; the engine's remote service just did not answer the probe. Jobs still go
       * to the engine, whose own retries decide how they end (GENERATOR_UNREACHABLE), rather than MODEL_UNAVAILABLE.
       */
      unreachable?: boolean;
    };

/** A job whose engine is not ready fails with this; it never falls back to another engine. */
export class ModelUnavailableError extends JobError {
  constructor(model: string, engine: string, reason: string) {
    super('MODEL_UNAVAILABLE', `Model ${model} is bound to engine ${engine}, which is not available: ${reason}`);
    this.name = 'ModelUnavailableError';
  }
}

/**
 * How one kind of engine is checked and built. A provider is constructed from EngineSettings (plain data that
 * travels to worker threads) and registered in ./providers.ts.
 */
export interface EngineProvider {
  readonly kind: EngineKind;
  /** Throws, with what is wrong and what is accepted, when a binding can never work (an unknown name): at start. */
  validate?(binding: EngineBinding): void;
  /**
   * Whether `binding` can run now. Called by /readyz, GET /v2/models and before each job, so it must be cheap
   * after the first call (cache what is expensive: a file's hash, a remote server's answer for a few seconds).
   * Never throws: a failure is `{ready: false, reason}`.
   */
  readiness(binding: EngineBinding, signal?: AbortSignal): Promise<EngineReadiness>;
  /** Builds the engine; called once per worker thread and binding, and the engine is reused for every job. */
  create(binding: EngineBinding): Promise<FaceEngine>;
}
