import { parentPort } from 'node:worker_threads';
import { answerNarJob, type NarJobMessage } from './nar-job.js';

/** The NAR worker thread's entry point: started by NarWorkerPool (nar-workers.ts). */
if (!parentPort) throw new Error('nar-worker runs as a worker thread of a NarWorkerPool, not on its own');
const port = parentPort;
port.on('message', (job: NarJobMessage) => port.postMessage(answerNarJob(job)));
