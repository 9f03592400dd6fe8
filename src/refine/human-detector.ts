import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DetectedFace, FaceDetector } from './detect.js';
import type { Rect, RgbImage } from './image.js';
import { landmarksFromMesh, mapLandmarks } from './landmarks.js';
import { defaultModelDir, packageDir, serveFileUrlsToFetch } from './model-files.js';

const require = createRequire(import.meta.url);

/** The part of @vladmandic/human's API we use (its typings are not reachable through the package's exports). */
interface Tensor {
  dispose(): void;
}
interface HumanFace {
  box: [number, number, number, number];
  score: number;
  boxScore: number;
  faceScore: number;
  annotations: Record<string, Array<[number, number, number?]> | undefined>;
  embedding?: number[];
}
interface HumanInstance {
  load(): Promise<void>;
  match: { similarity(a: number[], b: number[]): number };
  detect(input: Tensor): Promise<{ face: HumanFace[] }>;
  tf: {
    tensor(values: Float32Array, shape: number[], dtype: 'float32'): Tensor;
    getBackend(): string;
  };
}
interface HumanModule {
  Human: new (config: Record<string, unknown>) => HumanInstance;
}

export interface HumanDetectorOptions {
  modelDir?: string;
  minScore?: number;
  /** Landmark-model confidence a detection must reach: rejects face-like things that are not faces. */
  minMeshScore?: number;
  /** Also compute an identity embedding per face (the faceres model), for quality measurements. */
  embeddings?: boolean;
}

/** Below this box size the mesh is too coarse to trust; such faces use the box's proportions instead. */
const MIN_MESH_FACE_PX = 24;

/** Whole-image pass plus 256 px tiles on larger images, for faces too small to survive the detector's downscale. */
const TILE = 256;
const TILE_ABOVE = 640;

/** Overlapping tiles covering the image, the last row and column flush with its edges. */
export function tilesFor(width: number, height: number, size: number): Rect[] {
  const stride = Math.round(size * 0.75);
  const starts = (length: number): number[] => {
    if (length <= size) return [0];
    const out: number[] = [];
    for (let p = 0; p + size < length; p += stride) out.push(p);
    out.push(length - size);
    return out;
  };
  return starts(height).flatMap((y) => starts(width).map((x) => ({ x, y, width: Math.min(size, width), height: Math.min(size, height) })));
}

/**
 * @vladmandic/human's own face pipeline (its BlazeFace, face mesh and, on request, the faceres identity
 * embedding) on the tfjs WebAssembly backend. The service detects with MeshCheckedFaceDetector; this one is
 * kept for the identity embeddings the quality benchmark measures. Its boxes are human's enlarged boxes.
 */
export class HumanEmbeddingDetector implements FaceDetector {
  private constructor(
    private readonly human: HumanInstance,
    private readonly minMeshScore: number,
  ) {}

  static async create(options: HumanDetectorOptions = {}): Promise<HumanEmbeddingDetector> {
    serveFileUrlsToFetch();
    const modelDir = options.modelDir ?? defaultModelDir();
    if (!fs.existsSync(path.join(modelDir, 'blazeface.json'))) {
      throw new Error(`Expected the face models (blazeface.json, facemesh.json) in MODEL_DIR but found none in ${modelDir}`);
    }
    const humanPath = path.join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js');
    const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
    const { Human } = require(humanPath) as HumanModule;
    const human = new Human({
      backend: 'wasm',
      wasmPath: `${wasmDir}${path.sep}`,
      wasmPlatformFetch: false,
      modelBasePath: `${pathToFileURL(modelDir).href}/`,
      debug: false,
      async: false,
      warmup: 'none',
      // Every call is a new photo: no reuse of earlier results (human caches between video frames by default).
      cacheSensitivity: 0,
      filter: { enabled: false },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      face: {
        enabled: true,
        detector: {
          modelPath: 'blazeface.json',
          rotation: false,
          maxDetected: 64,
          minConfidence: options.minScore ?? 0.5,
          iouThreshold: 0.2,
          skipFrames: 0,
          skipTime: 0,
          return: false,
        },
        mesh: { enabled: true, modelPath: 'facemesh.json' },
        iris: { enabled: false },
        attention: { enabled: false },
        description: { enabled: options.embeddings === true, modelPath: 'faceres.json' },
        emotion: { enabled: false },
        antispoof: { enabled: false },
        liveness: { enabled: false },
      },
    });
    await human.load();
    if (human.tf.getBackend() !== 'wasm') throw new Error('the tfjs WebAssembly backend did not start');
    return new HumanEmbeddingDetector(human, options.minMeshScore ?? 0.5);
  }

  /** Identity similarity of two embeddings, 0..1, as the library defines it. */
  similarity(a: number[], b: number[]): number {
    return this.human.match.similarity(a, b);
  }

  async findFaces(image: RgbImage): Promise<DetectedFace[]> {
    const found = await this.detectFrame(image, { x: 0, y: 0, width: image.width, height: image.height });
    if (Math.max(image.width, image.height) > TILE_ABOVE) {
      for (const tile of tilesFor(image.width, image.height, TILE)) found.push(...(await this.detectFrame(image, tile)));
    }
    return found;
  }

  async detectFrame(image: RgbImage, frame: Rect): Promise<DetectedFace[]> {
    const values = new Float32Array(frame.width * frame.height * 3);
    const { data, width, channels } = image;
    let dst = 0;
    for (let y = frame.y; y < frame.y + frame.height; y++) {
      let src = (y * width + frame.x) * channels;
      for (let x = 0; x < frame.width; x++, src += channels) {
        values[dst++] = data[src] as number;
        values[dst++] = data[src + 1] as number;
        values[dst++] = data[src + 2] as number;
      }
    }
    const tensor = this.human.tf.tensor(values, [1, frame.height, frame.width, 3], 'float32');
    try {
      const result = await this.human.detect(tensor);
      return result.face
        .filter((face) => face.faceScore >= this.minMeshScore)
        .map((face) => {
          const detected: DetectedFace = {
            box: { x: face.box[0] + frame.x, y: face.box[1] + frame.y, width: face.box[2], height: face.box[3] },
            score: face.boxScore,
          };
          if (Math.min(face.box[2], face.box[3]) >= MIN_MESH_FACE_PX) {
            detected.landmarks = mapLandmarks(landmarksFromMesh(face.annotations), (p) => ({ x: p.x + frame.x, y: p.y + frame.y }));
          }
          if (face.embedding && face.embedding.length > 0) detected.embedding = Array.from(face.embedding);
          return detected;
        });
    } finally {
      tensor.dispose();
    }
  }
}
