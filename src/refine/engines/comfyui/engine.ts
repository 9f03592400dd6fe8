import { createHash } from 'node:crypto';
import { diagnoseFace } from '../../analyze.js';
import { applyFaceDelta } from '../../blend.js';
import type { DetectedFace } from '../../detect.js';
import { clampRect, lumaOf, type RgbImage } from '../../image.js';
import { landmarksFromBox } from '../../landmarks.js';
import type { RefinedFace } from '../../pipeline.js';
import { ComfyCluster, DEFAULT_CLUSTER, promptPrefix, type ClusterOptions } from './cluster.js';
import { samplerDenoise } from './denoise.js';
import { decodeRendered, generatedDelta, prepareCrop } from './face-crop.js';
import { WorkflowTemplate } from './workflow.js';

/** One API model bound to a checkpoint: `MODEL_ENGINES=<api model>=comfyui:<checkpoint>[@512|@1024]`. */
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
  // DPM++ 2M Karras at 20 steps and CFG 7: the common SD1.x/SDXL inpainting choice, as in ADetailer's defaults
  sampler: 'dpmpp_2m',
  scheduler: 'karras',
  steps: 20,
  cfg: 7,
  facesInFlight: 4,
};

export interface ComfyEngineConfig {
  urls: string[];
  /** A user's template file; the built-in one when undefined. */
  workflowFile: string | undefined;
  generation: GenerationSettings;
  cluster: ClusterOptions;
}

export interface GenerateRequest {
  binding: CheckpointBinding;
  denoising: number;
  seed: number;
  /** Stable per artwork: prompt ids derive from it, so a re-run finds what a killed worker queued. */
  jobKey: string;
  signal?: AbortSignal;
}

/** A seed for an artwork that gave none: derived from its id, so a re-run renders the same faces. */
export function seedFor(jobKey: string): number {
  return (createHash('sha256').update(jobKey).digest().readUInt32BE(0) % 2147483646) + 1;
}

/**
 * Re-renders faces with a diffusion checkpoint on ComfyUI. Each face is aligned into a crop at the
 * checkpoint's working size with context around it; the crop and its feathered face mask go to ComfyUI, the
 * rendered crop comes back, is colour-matched to the input under the mask and blended in through the same
 * mask, so pixels outside every face mask are not touched.
 */
export class ComfyFaceEngine {
  readonly cluster: ComfyCluster;
  readonly template: WorkflowTemplate;

  constructor(private readonly config: ComfyEngineConfig) {
    this.cluster = new ComfyCluster(config.urls, config.cluster ?? DEFAULT_CLUSTER);
    this.template = config.workflowFile ? WorkflowTemplate.fromFile(config.workflowFile) : WorkflowTemplate.builtIn();
  }

  async refine(
    source: RgbImage,
    detected: DetectedFace[],
    request: GenerateRequest,
  ): Promise<{ image: RgbImage; faces: RefinedFace[]; coverage: Float32Array; refineMs: number }> {
    const started = performance.now();
    const { binding, signal } = request;
    const { generation } = this.config;
    const denoise = samplerDenoise(request.denoising);
    // the prompt id carries everything that decides the render, so a changed setting never reuses an old one
    const settingsHash = createHash('sha256')
      .update(JSON.stringify([binding, denoise, request.seed, generation, this.template.source]))
      .digest('hex')
      .slice(0, 10);
    const deltas = new Array<Awaited<ReturnType<typeof this.renderFace>> | undefined>(detected.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < detected.length) {
        const index = next++;
        deltas[index] = await this.renderFace(source, detected[index] as DetectedFace, {
          ...request,
          denoise,
          promptId: `${promptPrefix(request.jobKey)}f${index}-${settingsHash}`,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(generation.facesInFlight, detected.length)) }, lane));
    signal?.throwIfAborted();
    // blended in detection order, so overlapping faces resolve the same way every time
    const target: RgbImage = { ...source, data: new Uint8Array(source.data) };
    const coverage = new Float32Array(source.width * source.height);
    const faces: RefinedFace[] = [];
    detected.forEach((face, i) => {
      const work = deltas[i];
      if (!work) return;
      applyFaceDelta(source, target, coverage, work.frame, work.delta);
      const region = clampRect(face.box, source.width, source.height);
      const diagnosis = diagnoseFace(lumaOf(source, region), region);
      faces.push({ detected: face, landmarks: face.landmarks ?? landmarksFromBox(face.box), diagnosis });
    });
    return { image: target, faces, coverage, refineMs: performance.now() - started };
  }

  private async renderFace(source: RgbImage, face: DetectedFace, request: GenerateRequest & { denoise: number; promptId: string }) {
    const { binding, signal } = request;
    const { generation } = this.config;
    const crop = await prepareCrop(source, face, binding.size);
    const rendered = await this.cluster.render(
      {
        promptId: request.promptId,
        checkpoint: binding.checkpoint,
        crop: crop.png,
        maskAlpha: crop.maskPng,
        workflow: (image) =>
          this.template.fill({
            checkpoint: binding.checkpoint,
            image,
            positive: generation.positive,
            negative: generation.negative,
            seed: request.seed,
            steps: generation.steps,
            cfg: generation.cfg,
            sampler: generation.sampler,
            scheduler: generation.scheduler,
            denoise: request.denoise,
            width: binding.size,
            height: binding.size,
            filename_prefix: `face-refiner/${request.promptId.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
          }),
      },
      signal,
    );
    return { frame: crop.frame, delta: generatedDelta(crop, await decodeRendered(rendered.bytes, binding.size)) };
  }
}
