import type { EngineBinding } from '../engine.js';
import type { CheckpointBinding } from './engine.js';

/** SD1.x checkpoints are trained at 512 px; SDXL at 1024 px: `@1024` after the file name says so. */
export const DEFAULT_WORKING_SIZE = 512;

/**
 * `comfyui:<checkpoint>[@<size>]` (the part after `comfyui:` arrives here as `binding.checkpoint`): the size is
 * the square crop the face is rendered at, a multiple of 64 (latents are 1/8 of it, and UNets halve them 3 times).
 */
export function checkpointBinding(binding: EngineBinding): CheckpointBinding {
  if (binding.kind !== 'comfyui') throw new Error(`comfyui provider asked about a ${binding.kind} binding`);
  const at = binding.checkpoint.lastIndexOf('@');
  if (at < 0) return { checkpoint: binding.checkpoint, size: DEFAULT_WORKING_SIZE };
  const checkpoint = binding.checkpoint.slice(0, at);
  const size = Number(binding.checkpoint.slice(at + 1));
  if (checkpoint === '' || !Number.isInteger(size) || size < 256 || size > 2048 || size % 64 !== 0) {
    throw new Error(
      `Expected comfyui:<checkpoint>@<working size> with a size from 256 to 2048 in steps of 64 (512 for SD1.x, 1024 for SDXL) but received "comfyui:${binding.checkpoint}"`,
    );
  }
  return { checkpoint, size };
}
