import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import sharp from 'sharp';
import { WebSocketServer, type WebSocket } from 'ws';

/*
 * A ComfyUI stand-in on loopback, built from ComfyUI's server.py (routes, multipart fields, answers),
 * execution.py (validate_prompt / validate_inputs and their error objects, execution messages) and main.py
 * (history status written before `executing` with node null). It does not diffuse anything: it "renders" by
 * changing every pixel a little (as a VAE round trip does) and drawing stripes into the masked area, with a phase from the seed and an amplitude from denoise, so a test
 * can see where a face went back and with which parameters.
 */

type InputSpec =
  | { kind: 'link'; type: string }
  | { kind: 'INT' | 'FLOAT'; min?: number; max?: number }
  | { kind: 'STRING' }
  | { kind: 'list'; values: () => string[]; validateFile?: boolean };

interface NodeClass {
  required: Record<string, InputSpec>;
  returns: string[];
  output?: boolean;
}

const link = (type: string): InputSpec => ({ kind: 'link', type });

/** Levels every rendered pixel moves by, masked or not, as through a real VAE: only our own mask may keep it off the photo. */
const VAE_TEXTURE = 6;

export interface ReceivedPrompt {
  promptId: string;
  clientId: string | undefined;
  workflow: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

interface QueueItem {
  number: number;
  promptId: string;
  prompt: ReceivedPrompt['workflow'];
  extra: { client_id?: string };
  outputs: string[];
}

export interface StandInOptions {
  checkpoints?: string[];
  /** Time per sampler step: the render's duration is steps x stepMs. */
  stepMs?: number;
}

export class ComfyStandIn {
  url = '';
  readonly received: ReceivedPrompt[] = [];
  readonly rejected: unknown[] = [];
  readonly interrupts: Array<{ promptId: string | undefined; hit: boolean }> = [];
  readonly dequeued: string[] = [];
  readonly uploads: Array<{ route: string; name: string; bytes: number }> = [];
  readonly socketMessages: Array<{ type: string; data: Record<string, unknown> }> = [];
  /** The next prompt's KSampler raises this (as a CUDA error would), producing execution_error. */
  failNextWith: string | undefined;
  stepMs: number;
  checkpoints: string[];
  /** Time spent executing prompts (the stand-in's "GPU time"), for benchmarks. */
  executionMs = 0;

  private readonly inputs = new Map<string, Buffer>();
  private readonly outputs = new Map<string, Buffer>();
  private readonly history = new Map<string, unknown>();
  private readonly pending: QueueItem[] = [];
  private running: QueueItem | undefined;
  private interruptFlag = false;
  private number = 0;
  private counter = 0;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly connections = new Set<net.Socket>();
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private worker: Promise<void> = Promise.resolve();
  private stopped = false;

  private readonly classes: Record<string, NodeClass>;

  constructor(options: StandInOptions = {}) {
    this.checkpoints = options.checkpoints ?? ['sd15-face.safetensors'];
    this.stepMs = options.stepMs ?? 5;
    const files = (): string[] => [...this.inputs.keys()].sort();
    this.classes = {
      CheckpointLoaderSimple: { required: { ckpt_name: { kind: 'list', values: () => this.checkpoints } }, returns: ['MODEL', 'CLIP', 'VAE'] },
      LoadImage: { required: { image: { kind: 'list', values: files, validateFile: true } }, returns: ['IMAGE', 'MASK'] },
      LoadImageMask: {
        required: { image: { kind: 'list', values: files, validateFile: true }, channel: { kind: 'list', values: () => ['alpha', 'red', 'green', 'blue'] } },
        returns: ['MASK'],
      },
      CLIPTextEncode: { required: { text: { kind: 'STRING' }, clip: link('CLIP') }, returns: ['CONDITIONING'] },
      VAEEncode: { required: { pixels: link('IMAGE'), vae: link('VAE') }, returns: ['LATENT'] },
      VAEEncodeForInpaint: {
        required: { pixels: link('IMAGE'), vae: link('VAE'), mask: link('MASK'), grow_mask_by: { kind: 'INT', min: 0, max: 64 } },
        returns: ['LATENT'],
      },
      SetLatentNoiseMask: { required: { samples: link('LATENT'), mask: link('MASK') }, returns: ['LATENT'] },
      KSampler: {
        required: {
          model: link('MODEL'),
          seed: { kind: 'INT', min: 0, max: Number.MAX_SAFE_INTEGER },
          steps: { kind: 'INT', min: 1, max: 10000 },
          cfg: { kind: 'FLOAT', min: 0, max: 100 },
          sampler_name: { kind: 'list', values: () => ['euler', 'euler_ancestral', 'dpmpp_2m', 'dpmpp_sde'] },
          scheduler: { kind: 'list', values: () => ['normal', 'karras', 'exponential', 'simple'] },
          positive: link('CONDITIONING'),
          negative: link('CONDITIONING'),
          latent_image: link('LATENT'),
          denoise: { kind: 'FLOAT', min: 0, max: 1 },
        },
        returns: ['LATENT'],
      },
      VAEDecode: { required: { samples: link('LATENT'), vae: link('VAE') }, returns: ['IMAGE'] },
      SaveImage: { required: { images: link('IMAGE'), filename_prefix: { kind: 'STRING' } }, returns: [], output: true },
    };
  }

  async start(port = 0): Promise<string> {
    this.stopped = false;
    const server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    server.on('connection', (socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://stand-in');
      if (url.pathname !== '/ws') return socket.destroy();
      wss.handleUpgrade(request, socket, head, (ws) => {
        // server.py websocket_handler: reuse the given clientId (dropping an older socket), else a new sid
        const sid = url.searchParams.get('clientId') || randomUUID().replace(/-/g, '');
        this.sockets.get(sid)?.close();
        this.sockets.set(sid, ws);
        ws.on('close', () => {
          if (this.sockets.get(sid) === ws) this.sockets.delete(sid);
        });
        this.send(sid, 'status', { status: { exec_info: { queue_remaining: this.remaining() } }, sid });
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.wss = wss;
    this.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return this.url;
  }

  /** The instance going away: every connection cut, the port closed, queued and running work lost. */
  async crash(): Promise<void> {
    this.stopped = true;
    this.interruptFlag = true;
    for (const ws of this.sockets.values()) ws.terminate();
    for (const socket of this.connections) socket.destroy();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.pending.length = 0;
  }

  async close(): Promise<void> {
    await this.crash();
    await this.worker.catch(() => undefined);
  }

  get busy(): boolean {
    return this.running !== undefined || this.pending.length > 0;
  }

  private remaining(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  private send(sid: string | undefined, type: string, data: Record<string, unknown>): void {
    this.socketMessages.push({ type, data });
    const ws = sid ? this.sockets.get(sid) : undefined;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type, data }));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const path = url.pathname.replace(/^\/api(?=\/)/, '');
    const body = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => resolve(Buffer.concat(chunks)));
      request.on('error', reject);
    });
    const json = (status: number, value: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const method = request.method ?? 'GET';
    if (method === 'POST' && (path === '/upload/image' || path === '/upload/mask')) {
      const form = await new Request('http://stand-in/', {
        method: 'POST',
        headers: { 'content-type': request.headers['content-type'] ?? '' },
        body: new Uint8Array(body),
      }).formData();
      return this.upload(path, form, response, json);
    }
    if (method === 'POST' && path === '/prompt') return this.queuePrompt(JSON.parse(body.toString()) as Record<string, unknown>, json);
    if (method === 'GET' && path === '/queue') {
      const tuple = (item: QueueItem): unknown[] => [item.number, item.promptId, item.prompt, item.extra, item.outputs];
      return json(200, { queue_running: this.running ? [tuple(this.running)] : [], queue_pending: this.pending.map(tuple) });
    }
    if (method === 'POST' && path === '/queue') {
      const parsed = JSON.parse(body.toString()) as { delete?: string[]; clear?: boolean };
      for (const id of parsed.delete ?? []) {
        const index = this.pending.findIndex((item) => item.promptId === id);
        if (index >= 0) {
          this.pending.splice(index, 1);
          this.dequeued.push(id);
        }
      }
      if (parsed.clear) this.pending.length = 0;
      return json(200, {});
    }
    if (method === 'POST' && path === '/interrupt') {
      // current server.py: with a prompt_id, interrupt only if that prompt is running; without, whatever runs
      let promptId: string | undefined;
      try {
        promptId = (JSON.parse(body.toString()) as { prompt_id?: string }).prompt_id;
      } catch {
        promptId = undefined;
      }
      const hit = this.running !== undefined && (promptId === undefined || this.running.promptId === promptId);
      if (hit) this.interruptFlag = true;
      this.interrupts.push({ promptId, hit });
      response.writeHead(200).end();
      return;
    }
    const historyMatch = /^\/history\/(.+)$/.exec(path);
    if (method === 'GET' && historyMatch) {
      const id = decodeURIComponent(historyMatch[1] as string);
      const entry = this.history.get(id);
      return json(200, entry ? { [id]: entry } : {});
    }
    if (method === 'POST' && path === '/history') {
      const parsed = JSON.parse(body.toString()) as { delete?: string[]; clear?: boolean };
      for (const id of parsed.delete ?? []) this.history.delete(id);
      if (parsed.clear) this.history.clear();
      return json(200, {});
    }
    if (method === 'GET' && path === '/view') {
      const key = `${url.searchParams.get('type') ?? 'output'}/${url.searchParams.get('subfolder') ?? ''}/${url.searchParams.get('filename') ?? ''}`;
      const bytes = this.outputs.get(key);
      if (!bytes) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'image/png' }).end(bytes);
      return;
    }
    const infoMatch = /^\/object_info\/(.+)$/.exec(path);
    if (method === 'GET' && infoMatch) {
      const name = decodeURIComponent(infoMatch[1] as string);
      const cls = this.classes[name];
      if (!cls) return json(200, {});
      const required = Object.fromEntries(
        Object.entries(cls.required).map(([input, spec]) => [input, spec.kind === 'list' ? [spec.values()] : [spec.kind === 'link' ? spec.type : spec.kind]]),
      );
      return json(200, { [name]: { input: { required }, output: cls.returns, name, output_node: cls.output === true } });
    }
    response.writeHead(404).end();
  }

  /** server.py image_upload: `image` file, `type` (input), `overwrite`; /upload/mask also `original_ref`. */
  private upload(path: string, form: FormData, response: http.ServerResponse, json: (s: number, v: unknown) => void): Promise<void> | void {
    const image = form.get('image');
    if (!(image instanceof Blob) || !('name' in image) || !image.name) return void response.writeHead(400).end();
    const overwrite = form.get('overwrite') === 'true' || form.get('overwrite') === '1';
    const type = (form.get('type') as string | null) ?? 'input';
    return image.arrayBuffer().then(async (buffer) => {
      const bytes = Buffer.from(buffer);
      let name = image.name;
      const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      if (!overwrite) {
        const dot = name.lastIndexOf('.');
        for (let i = 1; this.inputs.has(name) && hash(this.inputs.get(name) as Buffer) !== hash(bytes); i++) {
          name = `${(image.name).slice(0, dot)} (${i})${(image.name).slice(dot)}`;
        }
      }
      if (path === '/upload/mask') {
        const ref = JSON.parse(form.get('original_ref') as string) as { filename: string; type?: string };
        // the ref's type defaults to output; the original must exist, or nothing is written (name still answered)
        const original = (ref.type ?? 'output') === 'input' ? this.inputs.get(ref.filename) : undefined;
        if (original) {
          const rgb = await sharp(original).removeAlpha().raw().toBuffer({ resolveWithObject: true });
          const alpha = await sharp(bytes).ensureAlpha().extractChannel(3).raw().toBuffer();
          const merged = await sharp(rgb.data, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 3 } })
            .joinChannel(alpha, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 1 } })
            .png()
            .toBuffer();
          this.inputs.set(name, merged);
        }
      } else {
        this.inputs.set(name, bytes);
      }
      this.uploads.push({ route: path, name, bytes: bytes.length });
      json(200, { name, subfolder: '', type });
    });
  }

  private queuePrompt(body: Record<string, unknown>, json: (s: number, v: unknown) => void): void {
    if (!('prompt' in body)) {
      return json(400, { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: [] });
    }
    const prompt = body.prompt as ReceivedPrompt['workflow'];
    const promptId = typeof body.prompt_id === 'string' ? body.prompt_id : randomUUID();
    const valid = this.validate(prompt);
    if (!valid.ok) {
      this.rejected.push(valid.answer);
      return json(400, valid.answer);
    }
    const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    this.received.push({ promptId, clientId, workflow: prompt });
    const item: QueueItem = { number: this.number++, promptId, prompt, extra: clientId ? { client_id: clientId } : {}, outputs: valid.outputs };
    this.pending.push(item);
    json(200, { prompt_id: promptId, number: item.number, node_errors: {} });
    if (!this.running) this.worker = this.drain();
  }

  /** execution.py validate_prompt: unknown class first, then each output's inputs, recursively. */
  private validate(
    prompt: ReceivedPrompt['workflow'],
  ): { ok: true; outputs: string[] } | { ok: false; answer: { error: Record<string, unknown>; node_errors: unknown } } {
    const outputs: string[] = [];
    for (const [id, node] of Object.entries(prompt)) {
      if (!node || typeof node.class_type !== 'string') {
        return { ok: false, answer: { error: { type: 'invalid_prompt', message: 'Cannot execute because a node is missing the class_type property.', details: `Node ID '#${id}'`, extra_info: {} }, node_errors: [] } };
      }
      const cls = this.classes[node.class_type];
      if (!cls) {
        return { ok: false, answer: { error: { type: 'invalid_prompt', message: `Cannot execute because node ${node.class_type} does not exist.`, details: `Node ID '#${id}'`, extra_info: {} }, node_errors: [] } };
      }
      if (cls.output) outputs.push(id);
    }
    if (outputs.length === 0) {
      return { ok: false, answer: { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: [] } };
    }
    const nodeErrors: Record<string, { errors: unknown[]; dependent_outputs: string[]; class_type: string }> = {};
    const validated = new Map<string, boolean>();
    const check = (id: string, output: string): boolean => {
      const known = validated.get(id);
      if (known !== undefined) return known;
      const node = prompt[id];
      if (!node) return false;
      const cls = this.classes[node.class_type] as NodeClass;
      const errors: unknown[] = [];
      let valid = true;
      for (const [input, spec] of Object.entries(cls.required)) {
        const value = node.inputs?.[input];
        const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
        if (value === undefined) {
          errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: input, extra_info: { input_name: input } });
          continue;
        }
        if (Array.isArray(value)) {
          const [from, slot] = value as [string, number];
          const source = prompt[from];
          const returned = source ? this.classes[source.class_type]?.returns[slot] : undefined;
          if (spec.kind !== 'link' || returned !== spec.type) {
            errors.push({ type: 'return_type_mismatch', message: 'Return type mismatch between linked nodes', details: `${input}, ${returned} != ${spec.kind === 'link' ? spec.type : spec.kind}`, extra_info: { input_name: input } });
            continue;
          }
          if (!check(from, output)) valid = false;
          continue;
        }
        if (spec.kind === 'link') {
          errors.push({ type: 'invalid_input_type', message: `Expected a link for a ${spec.type} input`, details: input, extra_info: { input_name: input } });
        } else if (spec.kind === 'INT' || spec.kind === 'FLOAT') {
          const n = Number(value);
          if (!Number.isFinite(n) || (spec.kind === 'INT' && !Number.isInteger(n))) {
            errors.push({ type: 'invalid_input_type', message: `Failed to convert an input value to a ${spec.kind} value`, details: `${input}, ${text}`, extra_info: { input_name: input, received_value: value } });
          } else if (spec.min !== undefined && n < spec.min) {
            errors.push({ type: 'value_smaller_than_min', message: `Value ${n} smaller than min of ${spec.min}`, details: input, extra_info: { input_name: input, received_value: value } });
          } else if (spec.max !== undefined && n > spec.max) {
            errors.push({ type: 'value_bigger_than_max', message: `Value ${n} bigger than max of ${spec.max}`, details: input, extra_info: { input_name: input, received_value: value } });
          }
        } else if (spec.kind === 'list') {
          if (spec.validateFile && !this.inputs.has(text)) {
            // LoadImage.VALIDATE_INPUTS
            errors.push({ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `${input} - Invalid image file: ${text}`, extra_info: { input_name: input, received_value: value } });
          } else if (!spec.validateFile && !spec.values().includes(text)) {
            errors.push({ type: 'value_not_in_list', message: 'Value not in list', details: `${input}: '${text}' not in ${JSON.stringify(spec.values())}`, extra_info: { input_name: input, received_value: value } });
          }
        }
      }
      const ok = valid && errors.length === 0;
      validated.set(id, ok);
      if (errors.length > 0) {
        nodeErrors[id] ??= { errors, dependent_outputs: [], class_type: node.class_type };
        nodeErrors[id].dependent_outputs.push(output);
      }
      return ok;
    };
    const good = outputs.filter((output) => check(output, output));
    if (good.length === 0) {
      const details = Object.values(nodeErrors)
        .flatMap((entry) => entry.errors as Array<{ message: string; details: string }>)
        .map((e) => `${e.message}: ${e.details}`)
        .join('\n');
      return { ok: false, answer: { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details, extra_info: {} }, node_errors: nodeErrors } };
    }
    return { ok: true, outputs: good };
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.pending.length > 0) {
      const item = this.pending.shift() as QueueItem;
      this.running = item;
      this.interruptFlag = false;
      const started = performance.now();
      try {
        await this.execute(item);
      } finally {
        this.running = undefined;
        this.executionMs += performance.now() - started;
      }
    }
  }

  /** PromptExecutor.execute and prompt_worker: messages in their order; history written before `executing` null. */
  private async execute(item: QueueItem): Promise<void> {
    const sid = item.extra.client_id;
    const prompt_id = item.promptId;
    const messages: Array<[string, Record<string, unknown>]> = [];
    const note = (type: string, data: Record<string, unknown>): void => {
      messages.push([type, data]);
      this.send(sid, type, data);
    };
    note('execution_start', { prompt_id, timestamp: Date.now() });
    note('execution_cached', { nodes: [], prompt_id, timestamp: Date.now() });
    const order = Object.keys(item.prompt);
    const outputs: Record<string, unknown> = {};
    let failed: { type: 'execution_error' | 'execution_interrupted'; node: string } | undefined;
    for (const id of order) {
      const node = item.prompt[id] as ReceivedPrompt['workflow'][string];
      this.send(sid, 'executing', { node: id, display_node: id, prompt_id });
      if (node.class_type === 'KSampler') {
        const steps = Number(node.inputs.steps);
        for (let step = 1; step <= steps; step++) {
          await new Promise((resolve) => setTimeout(resolve, this.stepMs));
          if (this.interruptFlag || this.stopped) {
            failed = { type: 'execution_interrupted', node: id };
            break;
          }
          this.send(sid, 'progress', { value: step, max: steps, prompt_id, node: id });
        }
        if (!failed && this.failNextWith) {
          failed = { type: 'execution_error', node: id };
        }
      }
      if (failed) {
        const base = { prompt_id, node_id: id, node_type: node.class_type, executed: order.slice(0, order.indexOf(id)), timestamp: Date.now() };
        if (failed.type === 'execution_error') {
          note('execution_error', { ...base, exception_message: this.failNextWith, exception_type: 'torch.OutOfMemoryError', traceback: [], current_inputs: {}, current_outputs: {} });
          this.failNextWith = undefined;
        } else {
          note('execution_interrupted', base);
        }
        break;
      }
      if (node.class_type === 'SaveImage') {
        const filename = `${String(node.inputs.filename_prefix).split('/').pop()}_${String(++this.counter).padStart(5, '0')}_.png`;
        const subfolder = String(node.inputs.filename_prefix).split('/').slice(0, -1).join('/');
        this.outputs.set(`output/${subfolder}/${filename}`, await this.render(item.prompt));
        const images = [{ filename, subfolder, type: 'output' }];
        outputs[id] = { images };
        this.send(sid, 'executed', { node: id, display_node: id, output: { images }, prompt_id });
      }
    }
    if (this.stopped) return; // a crashed instance writes no history
    if (!failed) note('execution_success', { prompt_id, timestamp: Date.now() });
    this.history.set(prompt_id, {
      prompt: [item.number, prompt_id, item.prompt, item.extra, item.outputs],
      outputs,
      status: { status_str: failed ? 'error' : 'success', completed: !failed, messages },
      meta: {},
    });
    this.send(sid, 'executing', { node: null, prompt_id });
  }

  /** The visible "render": stripes in the masked area; phase from the seed, amplitude from denoise. */
  private async render(prompt: ReceivedPrompt['workflow']): Promise<Buffer> {
    const nodes = Object.values(prompt);
    const load = nodes.find((n) => n.class_type === 'LoadImage');
    const sampler = nodes.find((n) => n.class_type === 'KSampler');
    const file = this.inputs.get(String(load?.inputs.image)) as Buffer;
    const seed = Number(sampler?.inputs.seed ?? 0);
    const denoise = Number(sampler?.inputs.denoise ?? 1);
    const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const out = Buffer.alloc(info.width * info.height * 3);
    const phase = seed % 8;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        const i = y * info.width + x;
        const mask = 1 - (data[i * 4 + 3] as number) / 255; // LoadImageMask, channel alpha: 1 - alpha
        const stripe = Math.floor((x + phase) / 4) % 2 === 0 ? 1 : -1;
        // a fine checker everywhere: a VAE encode/decode round trip changes unmasked pixels a little too
        const change = 150 * denoise * mask * stripe + ((x + y) % 2 === 0 ? VAE_TEXTURE : -VAE_TEXTURE);
        for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((data[i * 4 + c] as number) + change)));
      }
    }
    return sharp(out, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
  }
}
