import path from 'node:path';
import { z } from 'zod';
import { TEMPLATE_NAMES, type TemplateName } from '../aligned-face.js';
import { RESTORER_NAME } from '../binding.js';

/** The input/output conventions a restorer's ONNX export follows; it decides how the session is fed. */
export const RESTORER_KINDS = ['gfpgan', 'codeformer', 'gpen', 'restoreformer'] as const;
export type RestorerKind = (typeof RESTORER_KINDS)[number];

export interface RestorerEntry {
  name: string;
  kind: RestorerKind;
  /** A path, or a file name inside MODELS_DIR. */
  file: string;
  /** Input (and output) width and height in pixels. */
  size: number;
  template: TemplateName;
  /** Where `models pull` fetches it; the first that answers is used. */
  urls: string[];
  /** FaceFusion publishes a CRC32 (8 hex digits) in a `.hash` file beside each model: one per mirror in `urls`. */
  crc32Urls?: string[];
  sha256?: string;
  /** Refuse a download larger than this (bytes). */
  maxBytes: number;
  licence?: string;
  origin: 'built-in' | 'MODELS_FILE';
}

/** FaceFusion's release that holds the face enhancer models (facefusion/processors/modules/face_enhancer). */
const RELEASE = 'models-3.0.0';
// facefusion/choices.py download_provider_set: GitHub releases first, then Hugging Face and its mirror
const mirrors = (file: string): string[] => [
  `https://github.com/facefusion/facefusion-assets/releases/download/${RELEASE}/${file}`,
  `https://huggingface.co/facefusion/${RELEASE}/resolve/main/${file}`,
  `https://hf-mirror.com/facefusion/${RELEASE}/resolve/main/${file}`,
];
// The published files are 300-400 MB; this only stops a runaway download.
const MAX_MODEL_BYTES = 1024 ** 3;

const builtIn = (name: string, kind: RestorerKind, size: number, template: TemplateName, licence: string): RestorerEntry => ({
  name,
  kind,
  file: `${name}.onnx`,
  size,
  template,
  urls: mirrors(`${name}.onnx`),
  crc32Urls: mirrors(`${name}.hash`),
  maxBytes: MAX_MODEL_BYTES,
  licence,
  origin: 'built-in',
});

/**
 * The face-restoration models FaceFusion publishes, with the size, template and licence its face enhancer module
 * gives each (create_static_model_set). Their weights are not part of this project: `models pull` fetches them.
 */
export const BUILT_IN_RESTORERS: readonly RestorerEntry[] = [
  builtIn('codeformer', 'codeformer', 512, 'ffhq_512', 'S-Lab-1.0'),
  builtIn('gfpgan_1.2', 'gfpgan', 512, 'ffhq_512', 'Apache-2.0'),
  builtIn('gfpgan_1.3', 'gfpgan', 512, 'ffhq_512', 'Apache-2.0'),
  builtIn('gfpgan_1.4', 'gfpgan', 512, 'ffhq_512', 'Apache-2.0'),
  builtIn('gpen_bfr_256', 'gpen', 256, 'arcface_128', 'Non-Commercial'),
  builtIn('gpen_bfr_512', 'gpen', 512, 'ffhq_512', 'Non-Commercial'),
  builtIn('gpen_bfr_1024', 'gpen', 1024, 'ffhq_512', 'Non-Commercial'),
  builtIn('gpen_bfr_2048', 'gpen', 2048, 'ffhq_512', 'Non-Commercial'),
  builtIn('restoreformer_plus_plus', 'restoreformer', 512, 'ffhq_512', 'Apache-2.0'),
];

/** One entry of MODELS_FILE, as the operator writes it. */
const userEntrySchema = z
  .object({
    name: z.string().regex(RESTORER_NAME, 'letters, digits, ".", "_" and "-", at most 100'),
    file: z.string().min(1),
    kind: z.enum(RESTORER_KINDS),
    size: z.number().int().min(16).max(4096),
    template: z.enum(TEMPLATE_NAMES as [TemplateName, ...TemplateName[]]),
    url: z.url({ protocol: /^https?$/ }).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/i, '64 hex digits').optional(),
    maxBytes: z.number().int().positive().optional(),
  })
  .strict();

/**
 * Reads MODELS_FILE's text: a JSON array of entries. Throws with each wrong field and what it accepts. Entries may
 * replace a built-in one of the same name (another mirror, a fine-tuned file).
 */
export function parseUserEntries(text: string, source: string): RestorerEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`Expected JSON in ${source} but it does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = z.array(userEntrySchema).safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new Error(`Expected an array of {name, file, kind, size, template, url?, sha256?} in ${source}: ${problems.join('; ')}`);
  }
  const names = new Set<string>();
  return parsed.data.map((entry) => {
    if (names.has(entry.name)) throw new Error(`Expected each name once in ${source} but ${entry.name} appears twice`);
    names.add(entry.name);
    return {
      name: entry.name,
      kind: entry.kind,
      file: entry.file,
      size: entry.size,
      template: entry.template,
      urls: entry.url ? [entry.url] : [],
      ...(entry.sha256 ? { sha256: entry.sha256.toLowerCase() } : {}),
      maxBytes: entry.maxBytes ?? MAX_MODEL_BYTES,
      origin: 'MODELS_FILE',
    };
  });
}

/** The built-in entries and the operator's, the operator's winning on a name clash. */
export class RestorerCatalogue {
  private readonly entries = new Map<string, RestorerEntry>();

  constructor(
    readonly modelsDir: string,
    userEntries: readonly RestorerEntry[] = [],
  ) {
    for (const entry of [...BUILT_IN_RESTORERS, ...userEntries]) this.entries.set(entry.name, entry);
  }

  get(name: string): RestorerEntry | undefined {
    return this.entries.get(name);
  }

  list(): RestorerEntry[] {
    return [...this.entries.values()];
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Where the entry's file is (an absolute path as given, or a name resolved inside MODELS_DIR). */
  pathOf(entry: RestorerEntry): string {
    return path.isAbsolute(entry.file) ? entry.file : path.join(this.modelsDir, entry.file);
  }
}
