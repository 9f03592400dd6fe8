import { z } from 'zod';

/*
 * The shapes of ComfyUI's HTTP and WebSocket API, as its server code builds them (server.py, execution.py,
 * main.py's prompt_worker). Only the fields this client reads are declared; everything else passes through.
 */

/** One node of a workflow in ComfyUI's API format: `{class_type, inputs}`, links are `[node_id, output_index]`. */
export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}
export type Workflow = Record<string, WorkflowNode>;

/** POST /upload/image and /upload/mask answer `{name, subfolder, type}` (server.py image_upload). */
export const uploadAnswer = z.object({ name: z.string().min(1), subfolder: z.string(), type: z.string() });
export type UploadedFile = z.infer<typeof uploadAnswer>;

/** One entry of validate_inputs' errors (execution.py): type, message, details, extra_info. */
export const nodeErrorEntry = z.object({
  type: z.string(),
  message: z.string(),
  details: z.string().optional(),
  extra_info: z.record(z.string(), z.unknown()).optional(),
});

/** POST /prompt, 200: `{prompt_id, number, node_errors}` (node_errors lists outputs that were dropped). */
export const promptAccepted = z.object({ prompt_id: z.string().min(1), number: z.number(), node_errors: z.unknown() });

/**
 * POST /prompt, 400: `{error: {type, message, details, extra_info}, node_errors: {<node id>: {errors, class_type,
 * dependent_outputs}}}`; `error` is a plain string for a body without `prompt` in old versions.
 */
export const promptRejected = z.object({
  error: z.union([z.string(), nodeErrorEntry]),
  node_errors: z
    .union([
      z.record(z.string(), z.object({ errors: z.array(nodeErrorEntry), class_type: z.string().optional() })),
      z.array(z.unknown()),
    ])
    .optional(),
});
export type PromptRejection = z.infer<typeof promptRejected>;

/** A saved image as SaveImage reports it in the history's outputs and in `executed` messages. */
export const outputImage = z.object({ filename: z.string().min(1), subfolder: z.string(), type: z.string() });
export type OutputImage = z.infer<typeof outputImage>;

/**
 * GET /history/<prompt_id>: `{}` until the prompt finished, then `{<id>: {prompt, outputs, status}}`; status is
 * `{status_str: 'success' | 'error', completed, messages: [[event, data], ...]}` (main.py prompt_worker), where
 * the messages repeat the execution_error / execution_interrupted events.
 */
export const historyEntry = z.object({
  outputs: z.record(z.string(), z.object({ images: z.array(outputImage).optional() }).passthrough()),
  status: z
    .object({
      status_str: z.string(),
      completed: z.boolean(),
      messages: z.array(z.tuple([z.string(), z.unknown()])).optional(),
    })
    .optional(),
});
export type HistoryEntry = z.infer<typeof historyEntry>;
export const historyAnswer = z.record(z.string(), historyEntry);

/** GET /queue: items are `[number, prompt_id, prompt, extra_data, outputs_to_execute, ...]`. */
export const queueAnswer = z.object({
  queue_running: z.array(z.array(z.unknown())),
  queue_pending: z.array(z.array(z.unknown())),
});
export type QueueState = z.infer<typeof queueAnswer>;

/** GET /object_info/CheckpointLoaderSimple: `input.required.ckpt_name[0]` is the list of checkpoint files. */
export const checkpointLoaderInfo = z.object({
  CheckpointLoaderSimple: z.object({
    input: z.object({ required: z.object({ ckpt_name: z.tuple([z.array(z.string())]).rest(z.unknown()) }) }),
  }),
});

/** The WebSocket's JSON frames: `{type, data}` (server.py send_json). Binary frames are previews, ignored. */
export const socketMessage = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) });

/** execution_error's data (execution.py handle_execution_error). */
export const executionError = z.object({
  prompt_id: z.string().optional(),
  node_id: z.unknown().optional(),
  node_type: z.string().optional(),
  exception_message: z.string().optional(),
  exception_type: z.string().optional(),
});

/** The id of a queue item (second element of the tuple), when it has one. */
export function queueItemId(item: unknown[]): string | undefined {
  const id = item[1];
  return typeof id === 'string' ? id : undefined;
}

/** A rejection as one line: ComfyUI's own message, then each node's first errors ("KSampler #5: ..."). */
export function describeRejection(rejection: PromptRejection): string {
  const top =
    typeof rejection.error === 'string'
      ? rejection.error
      : [rejection.error.message, rejection.error.details].filter((part) => part).join(': ');
  const nodes = rejection.node_errors && !Array.isArray(rejection.node_errors) ? rejection.node_errors : {};
  const perNode = Object.entries(nodes).flatMap(([id, entry]) =>
    entry.errors.map((e) => `${entry.class_type ?? 'node'} #${id}: ${e.message}${e.details ? ` (${e.details})` : ''}`),
  );
  return [top, ...perNode].join('; ');
}
