import fs from 'node:fs';
import defaultTemplate from './workflow-template.json' with { type: 'json' };
import type { Workflow, WorkflowNode } from './protocol.js';

/**
 * The values a workflow template receives. A string that is exactly `{{name}}` becomes the value with its type
 * (numbers stay numbers, as KSampler's INT and FLOAT inputs want); inside a longer string, `{{name}}` is
 * replaced by its text (e.g. "{{positive}}, film grain").
 */
export interface WorkflowValues {
  /** Checkpoint file name as CheckpointLoaderSimple lists it. */
  checkpoint: string;
  /** The uploaded input file: the face crop in RGB, its mask in alpha (transparent = re-render). */
  image: string;
  positive: string;
  negative: string;
  seed: number;
  steps: number;
  cfg: number;
  sampler: string;
  scheduler: string;
  /** KSampler denoise, 0..1, from the API's denoising level. */
  denoise: number;
  /** Crop width and height in pixels (the working size). */
  width: number;
  height: number;
  filename_prefix: string;
}

export const PLACEHOLDERS = [
  'checkpoint',
  'image',
  'positive',
  'negative',
  'seed',
  'steps',
  'cfg',
  'sampler',
  'scheduler',
  'denoise',
  'width',
  'height',
  'filename_prefix',
] as const satisfies ReadonlyArray<keyof WorkflowValues>;

/** A template that ignores these would not render the face it was given, with the checkpoint and seed asked. */
const REQUIRED: ReadonlyArray<keyof WorkflowValues> = ['image', 'checkpoint', 'seed', 'denoise'];

const TOKEN = /\{\{\s*([a-z_]+)\s*\}\}/g;

export class WorkflowTemplate {
  private constructor(
    private readonly nodes: Workflow,
    readonly source: string,
  ) {}

  /** The template shipped with the service (LoadImage, LoadImageMask, SetLatentNoiseMask, KSampler, SaveImage). */
  static builtIn(): WorkflowTemplate {
    return WorkflowTemplate.parse(JSON.stringify(defaultTemplate), 'the built-in template');
  }

  /** A user's template file in ComfyUI's API format ("Save (API)" in ComfyUI's menu). */
  static fromFile(path: string): WorkflowTemplate {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`Expected a readable workflow file for COMFYUI_WORKFLOW but could not read it: ${(error as Error).message}`);
    }
    return WorkflowTemplate.parse(text, path);
  }

  static parse(text: string, source: string): WorkflowTemplate {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`Expected JSON in ComfyUI's API format for ${source} but it does not parse: ${(error as Error).message}`);
    }
    if (!isWorkflow(parsed)) {
      throw new Error(
        `Expected ComfyUI's API format for ${source} ({"<node id>": {"class_type", "inputs"}}) but received another shape; ` +
          'export it with "Save (API)", not the UI format with "nodes" and "links"',
      );
    }
    const used = new Set<string>();
    for (const match of text.matchAll(TOKEN)) used.add(match[1] as string);
    const unknown = [...used].filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new Error(`Expected only the placeholders ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')} in ${source} but received {{${unknown.join('}}, {{')}}}`);
    }
    const missing = REQUIRED.filter((name) => !used.has(name));
    if (missing.length > 0) throw new Error(`Expected the placeholders {{${missing.join('}}, {{')}}} in ${source}: without them the face, checkpoint, seed or denoise would be ignored`);
    if (!Object.values(parsed).some((node) => node.class_type === 'SaveImage')) {
      throw new Error(`Expected a SaveImage node in ${source}: its output is what /view returns`);
    }
    return new WorkflowTemplate(parsed, source);
  }

  /** The workflow to queue: a fresh copy with every placeholder filled. */
  fill(values: WorkflowValues): Workflow {
    const fillValue = (value: unknown): unknown => {
      if (typeof value === 'string') {
        const whole = /^\{\{\s*([a-z_]+)\s*\}\}$/.exec(value);
        if (whole) return values[whole[1] as keyof WorkflowValues];
        return value.replace(TOKEN, (_, name: string) => String(values[name as keyof WorkflowValues]));
      }
      if (Array.isArray(value)) return value.map(fillValue);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillValue(v)]));
      return value;
    };
    return fillValue(this.nodes) as Workflow;
  }
}

function isWorkflow(value: unknown): value is Workflow {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const nodes = Object.values(value as Record<string, unknown>);
  return (
    nodes.length > 0 &&
    nodes.every((node): node is WorkflowNode => {
      if (!node || typeof node !== 'object') return false;
      const { class_type, inputs } = node as Record<string, unknown>;
      return typeof class_type === 'string' && !!inputs && typeof inputs === 'object';
    })
  );
}
