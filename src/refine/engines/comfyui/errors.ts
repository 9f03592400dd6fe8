import { JobError } from '../../../errors.js';

/** ComfyUI validated the workflow and refused it (400 with node_errors): the same prompt fails everywhere. */
export class GeneratorRejectedError extends JobError {
  constructor(message: string) {
    super('GENERATOR_REJECTED', `ComfyUI refused the workflow: ${message}`);
  }
}

/** The workflow ran and a node raised (execution_error): ComfyUI's own exception message is kept. */
export class GeneratorFailedError extends JobError {
  constructor(message: string) {
    super('GENERATOR_FAILED', `ComfyUI failed while rendering: ${message}`);
  }
}

/** No instance could be reached, or every one dropped the work, after the retries. */
export class GeneratorUnreachableError extends JobError {
  constructor(message: string) {
    super('GENERATOR_UNREACHABLE', message);
  }
}

/**
 * One instance failed in a way another instance may not (refused connection, timeout, 5xx, a dropped socket,
 * an interrupt nobody here asked for): the caller tries the next instance.
 */
export class InstanceFailure extends Error {
  constructor(
    readonly baseUrl: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${baseUrl}: ${message}`, options);
    this.name = 'InstanceFailure';
  }
}
