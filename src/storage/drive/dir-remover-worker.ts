/**
 * Entry point of the remover's worker thread (dir-remover.ts): runs each job it is sent, in order, and answers with
 * its id and, when the removal failed, the error's code and message.
 */
import { parentPort } from 'node:worker_threads';
import { runRemoveJob, type RemoveJob } from './dir-removal';

/** A job as posted to the worker. */
export interface RemoveRequest extends RemoveJob {
  id: number;
}

/** The worker's answer to one request. */
export interface RemoveReply {
  id: number;
  error?: { code?: string; message: string };
}

parentPort?.on('message', (req: RemoveRequest) => {
  const reply: RemoveReply = { id: req.id };
  try {
    runRemoveJob(req);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply.error = { code: e?.code, message: e instanceof Error ? e.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
