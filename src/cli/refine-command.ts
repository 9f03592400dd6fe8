import fs from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, DENOISING, MODELS, OUTPUT_FORMATS, SEED, type ModelName, type OutputFormat } from '../artworks/artwork.js';
import { ConfigError, type Config } from '../config.js';
import { engineRegistry, engineSettings } from '../engine-settings.js';
import { checkExecutionProvider } from '../refine/engines/restorers/session.js';
import { FacePool } from '../refine/face-pool.js';
import { MeshCheckedFaceDetector } from '../refine/face-detector.js';
import { refineImage } from '../refine/pipeline.js';
import { UsageError } from './usage.js';

const FORMAT_BY_EXTENSION: Record<string, OutputFormat> = { png: 'png', webp: 'webp', jpg: 'jpeg', jpeg: 'jpeg' };

/** An integer option within the range the API accepts for the same field (artworks/artwork.ts). */
function integerOption(option: string, text: string, range: { min: number; max: number }): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new UsageError(`Expected an integer from ${range.min} to ${range.max} for ${option} but received ${text}`);
  }
  return value;
}

export async function refineCommand(args: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      model: { type: 'string', default: DEFAULT_MODEL },
      denoising: { type: 'string', default: String(DENOISING.default) },
      seed: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean', default: false },
      debug: { type: 'boolean', default: false },
    },
  });
  const [input, ...extra] = positionals;
  if (!input || extra.length > 0) throw new UsageError('Expected exactly one <input> file for refine');
  if (!values.output) throw new UsageError('Expected -o <output> for refine');
  if (!(MODELS as readonly string[]).includes(values.model)) {
    throw new UsageError(`Expected one of ${MODELS.join(', ')} for --model but received ${values.model}`);
  }
  const denoising = integerOption('--denoising', values.denoising, DENOISING);
  const seed = values.seed === undefined ? undefined : integerOption('--seed', values.seed, SEED);
  const extension = values.output.split('.').pop()?.toLowerCase() ?? '';
  const format = values.format ?? FORMAT_BY_EXTENSION[extension];
  if (!format || !(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(
      `Expected an output ending in .png, .webp, .jpg or --format ${OUTPUT_FORMATS.join('|')} but received ${values.output}`,
    );
  }
  const bytes = await fs.readFile(input);
  const started = performance.now();
  await checkExecutionProvider(config.executionProvider).catch((error: unknown) => {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  });
  // one image on this machine: it may use every core (this thread and the helpers)
  const facePool = new FacePool(Math.max(config.faceThreads, os.availableParallelism() - 1, 1));
  const settings = engineSettings(config);
  const engines = engineRegistry(settings, { facePool });
  const engine = await engines.engineFor(values.model as ModelName).catch(async (error: unknown) => {
    await facePool.close();
    throw error;
  });
  const detector = await MeshCheckedFaceDetector.create({ modelDir: config.modelDir, helpers: facePool });
  const loadMs = performance.now() - started;
  const result = await refineImage(detector, bytes, {
    model: values.model as ModelName,
    denoising,
    seed,
    outputFormat: format as OutputFormat,
    maxPixels: config.maxImagePixels,
    maxFaces: config.maxFaces,
    debugPicture: values.debug,
  }, facePool, { engine }).finally(() => Promise.all([facePool.close(), engines.close()]));
  await fs.writeFile(values.output, result.body);
  const debugFile = `${values.output.replace(/\.[^./]+$/, '')}.debug.png`;
  if (result.debugPicture) await fs.writeFile(debugFile, result.debugPicture);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ faces: result.faces, engine: result.engine, timings: { modelLoadMs: Math.round(loadMs), ...result.timings } })}\n`,
    );
  } else {
    process.stdout.write(
      `${result.faces.length} face(s) refined; wrote ${values.output}${result.debugPicture ? ` and ${debugFile}` : ''}\n`,
    );
  }
}
