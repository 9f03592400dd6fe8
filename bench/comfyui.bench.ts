/**
 * ComfyUI engine: one prompt per face, one at a time or several in flight, against the ComfyUI stand-in on
 * loopback. The stand-in's own execution time (steps x STEP_MS per prompt, the "GPU time") is the baseline
 * measured in the same run: the ratio says how much of a job's time is ours (alignment, PNG encoding, uploads,
 * /prompt, /ws, /history, /view, decoding, colour matching) rather than the renderer's. What a real GPU does
 * with a batch of faces in one KSampler cannot be measured here: see README ("Generative refinement").
 */
import fs from 'node:fs';
import { decodeImage } from '../src/ingest/decode.js';
import { detectFaces } from '../src/refine/detect.js';
import { ComfyFaceEngine, DEFAULT_GENERATION } from '../src/refine/engines/comfyui/engine.js';
import { WorkflowTemplate } from '../src/refine/engines/comfyui/workflow.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { ComfyStandIn } from '../test/helpers/comfyui-stand-in.js';
import { fixture } from '../test/helpers/paths.js';

const FACES = Number(process.env.BENCH_FACES ?? 8);
const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const detector = await MeshCheckedFaceDetector.create();
const { image } = await decodeImage(fs.readFileSync(fixture('faces/solvay-1927-gray-1280.png')), 50_000_000);
const faces = await detectFaces(detector, image, { maxFaces: FACES });

console.log(`ComfyUI engine, ${faces.length} faces of solvay-1927-gray-1280.png at 512 px, ${STEPS} steps, ${RUNS} runs (median); busy shared machine\n`);
console.log('| stand-in ms per step | faces in flight | job refine ms | stand-in execution ms | ours ms per face | ratio to execution |');
console.log('|---|---|---|---|---|---|');
for (const stepMs of [0, 25]) {
  for (const inFlight of [1, 4]) {
    const comfy = new ComfyStandIn({ checkpoints: ['bench.safetensors'], stepMs });
    await comfy.start();
    const engine = new ComfyFaceEngine(
      { checkpoint: 'bench.safetensors', size: 512 },
      WorkflowTemplate.builtIn(),
      { ...DEFAULT_GENERATION, steps: STEPS, facesInFlight: inFlight },
      { urls: [comfy.url], timeouts: { callMs: 30_000, transferMs: 60_000 }, follow: { renderTimeoutMs: 600_000, historyPollMs: 2_000, maxPollFailures: 3 }, rounds: 1, retryPauseMs: 100 },
    );
    const walls: number[] = [];
    const executions: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      comfy.executionMs = 0;
      const started = performance.now();
      // a different seed per run: nothing is resumed from the previous run's prompts
      await engine.refineFaces({ image, faces, model: 'tengrai-20231128-m-d.safetensors', denoising: 3, seed: 1000 + run, signal: undefined });
      walls.push(performance.now() - started);
      executions.push(comfy.executionMs);
    }
    await comfy.close();
    const wall = median(walls);
    const execution = median(executions);
    const ours = (wall - (inFlight === 1 ? execution : 0)) / faces.length;
    console.log(`| ${stepMs} | ${inFlight} | ${wall.toFixed(0)} | ${execution.toFixed(0)} | ${inFlight === 1 ? ours.toFixed(0) : '-'} | ${execution > 0 ? (wall / execution).toFixed(2) : '-'} |`);
  }
}
process.exit(0);
