import { workerData } from 'node:worker_threads';
import { engineProviders } from '../refine/engines/providers.js';
import { refineTaskHandler } from './refine-task.js';
import type { ThreadSetup } from './thread-protocol.js';

/** A refine worker thread (piscina's module): every engine kind this build knows. */
export default refineTaskHandler(workerData as ThreadSetup, engineProviders);
