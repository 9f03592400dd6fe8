import { createHash } from 'node:crypto';
import { diagnoseFace } from '../../analyze.js';
import type { DetectedFace } from '../../detect.js';
import type { FaceWork } from '../../face-work.js';
import { clampRect, type RgbImage } from '../../image.js';
import { landmarksFromBox } from '../../landmarks.js';
import { estimateImageNoise } from '../../noise.js';
import type { FaceEngine, FaceEngineRequest } from '../engine.js';
import { ComfyCluster, promptPrefix, type ClusterOptions } from './cluster.js';
import { samplerDenoise } from './denoise.js';
import { decodeRendered, generatedDelta, prepareCrop } from './face-crop.js';
import type { WorkflowTemplate } from './workflow.js';

/** One API model bound to a checkpoint: `MODEL_ENGINES=<api model>=comfyui:<checkpoint>[@<working size>]`. */
export interface CheckpointBinding {
  checkpoint: string;
  /** The checkpoint's working size: 512 for SD1.x, 1024 for SDXL. */
  size: number;
}

/** What every face's workflow gets besides the face itself; defaults in README ("Generative refinement"). */
export interface GenerationSettings {
  positive: string;
  negative: string;
  sampler: string;
  scheduler: string;
  steps: number;
  cfg: number;
  /** Faces of one image rendered at once (each its own prompt, spread over the instances by load). */
  facesInFlight: number;
}

export const DEFAULT_GENERATION: GenerationSettings = {
  positive: 'a detailed photograph of a face, sharp focus, natural skin texture, realistic eyes',
  negative: 'blurry, lowres, deformed, disfigured, extra eyes, bad anatomy, painting, cartoon, watermark, text',
  // DPM++ 2M Karras, 20 steps, CFG 7: the usual SD1.x/SDXL inpainting choice (ADetailer's UI defaults are alike)
  sampler: 'dpmpp_2m',
  scheduler: 'karras',
  steps: 20,
  cfg: 7,
  facesInFlight: 4,
};

/** A cancel must reach ComfyUI inside the pool's grace period before the thread is ended (2 s). */
const CANCEL_BUDGET_MS = 1_500;

/**
 * What identifies a job's work without the job: the image and the parameters. A re-run of the same artwork
 * (after a crash) has the same input bytes and parameters, so it derives the same prompt ids and finds what the
 * previous run queued.
 */
export function jobKeyOf(image: RgbImage, model: string, denoising: number, seed: number | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([model, denoising, seed ?? null, image.width, image.height, image.channels]))
    .update(image.data)
    .digest('hex')
    .slice(0, 24);
}

/** A seed for an artwork that gave none: derived from the job, so a re-run renders the same faces. */
export function seedFor(jobKey: string): number {
  return (createHash('sha256').update(jobKey).digest().readUInt32BE(0) % 2147483646) + 1;
}

/**
 * Re-renders faces with a diffusion checkpoint on ComfyUI. Each face is aligned into a crop at the
 * checkpoint's working size with context around it; the crop and its feathered face mask go to ComfyUI, the
 * rendered crop comes back, is colour-matched to the input under the mask and returned as the change under
 * that mask, so the pipeline leaves pixels outside every face mask untouched.
 */
export class ComfyFaceEngine implements FaceEngine {
  readonly name: string;
  readonly cluster: ComfyCluster;

  constructor(
    private readonly binding: CheckpointBinding,
    private readonly template: WorkflowTemplate,
    private readonly generation: GenerationSettings,
    cluster: ComfyCluster | ClusterOptions & { urls: string[] },
  ) {
    this.name = `comfyui:${binding.checkpoint}`;
    this.cluster = cluster instanceof ComfyCluster ? cluster : new ComfyCluster(cluster.urls, cluster);
  }

  async refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>> {
    const { image, faces, signal } = request;
    const jobKey = jobKeyOf(image, request.model, request.denoising, request.seed);
    const seed = request.seed ?? seedFor(jobKey);
    const denoise = samplerDenoise(request.denoising);
    // the prompt id carries what decides the render, so a changed setting never reuses an old render
    const settingsHash = createHash('sha256')
      .update(JSON.stringify([this.binding, denoise, seed, this.generation, this.template.source]))
      .digest('hex')
      .slice(0, 10);
    const works = new Array<FaceWork | null>(faces.length).fill(null);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < faces.length) {
        signal?.throwIfAborted();
        const index = next++;
        const promptId = `${promptPrefix(jobKey)}f${index}-${settingsHash}`;
        works[index] = await this.renderFace(image, faces[index] as DetectedFace, { promptId, seed, denoise, signal });
      }
    };
    const lanes = Math.max(1, Math.min(this.generation.facesInFlight, faces.length));
    // every lane settles (they stop at once on abort) before a cancel sweeps the queue, so none queues after it
    const outcomes = await Promise.allSettled(Array.from({ length: lanes }, lane));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (signal?.aborted) {
      await this.cluster.cancelJob(jobKey, AbortSignal.timeout(CANCEL_BUDGET_MS)).catch(() => undefined);
      throw signal.reason instanceof Error ? signal.reason : new Error('canceled');
    }
    if (failed) throw failed.reason;
    return works;
  }

  private async renderFace(
    image: RgbImage,
    face: DetectedFace,
    job: { promptId: string; seed: number; denoise: number; signal: AbortSignal | undefined },
  ): Promise<FaceWork> {
    const { size, checkpoint } = this.binding;
    const generation = this.generation;
    const crop = await prepareCrop(image, face, size);
    const rendered = await this.cluster.render(
      {
        promptId: job.promptId,
        checkpoint,
        crop: crop.png,
        maskAlpha: crop.maskPng,
        workflow: (uploaded) =>
          this.template.fill({
            checkpoint,
            image: uploaded,
            positive: generation.positive,
            negative: generation.negative,
            seed: job.seed,
            steps: generation.steps,
            cfg: generation.cfg,
            sampler: generation.sampler,
            scheduler: generation.scheduler,
            denoise: job.denoise,
            width: size,
            height: size,
            filename_prefix: `face-refiner/${job.promptId.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
          }),
      },
      job.signal,
    );
    const region = clampRect(face.box, image.width, image.height);
    return {
      frame: crop.frame,
      landmarks: face.landmarks ?? landmarksFromBox(face.box),
      diagnosis: diagnoseFace(image, region, region, { x: 0, y: 0 }, estimateImageNoise(image)),
      delta: generatedDelta(crop, await decodeRendered(rendered.bytes, size)),
    };
  }
}
