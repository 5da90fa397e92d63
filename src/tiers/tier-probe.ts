/**
 * The probe every backend runs before a tier is saved or its credentials are rotated: put a small object under the
 * tier prefix, read it back and compare, find it by listing, delete it. Each step proves a permission the engine
 * will need (PutObject, GetObject, ListBucket, DeleteObject) with the credentials as given, so a tier that saves is
 * a tier that works.
 *
 * The probe object is written in the backend's standard class, not the tier's: an archive-class probe could not be
 * read back, and IA and archive classes bill a minimum storage duration for every object deleted early.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TierBackend } from './tier-backend';
import { TierError } from './tier-error';

/** The probe step that failed. */
export type ProbeStep = 'put' | 'get' | 'list' | 'delete';

/** A failed probe: the step, and the classified cause (its code and retryability). */
export class TierProbeError extends TierError {
  constructor(
    readonly step: ProbeStep,
    readonly causeError: TierError,
  ) {
    super(
      causeError.code,
      `probe of tier "${causeError.details.tier ?? '?'}" failed at ${step}: ${causeError.message}`,
      {
        ...causeError.details,
        operation: `probe-${step}`,
        cause: causeError,
      },
    );
    this.name = 'TierProbeError';
  }
}

/** Opaque-key folder probe objects live in (under the tier prefix). */
export const PROBE_FOLDER = '.tiergate-probe/';

/** Runs the probe against `backend`, writing with `standardClass`. */
export async function runProbe(backend: TierBackend, standardClass: string): Promise<void> {
  const key = `${PROBE_FOLDER}${Date.now()}-${randomBytes(8).toString('hex')}`;
  const payload = randomBytes(64);
  const step = async <T>(name: ProbeStep, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const cause =
        err instanceof TierError
          ? err
          : new TierError('Rejected', String(err), { tier: backend.name, cause: err });
      throw new TierProbeError(name, cause);
    }
  };
  await step('put', () =>
    backend.put(key, Readable.from([payload]), { size: payload.length, storageClass: standardClass }),
  );
  let failure: Error | undefined;
  try {
    await step('get', async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await backend.get(key)) chunks.push(chunk as Buffer);
      if (!Buffer.concat(chunks).equals(payload))
        throw new TierError('Rejected', 'the probe object read back differs from what was written', {
          tier: backend.name,
        });
    });
    await step('list', async () => {
      for await (const entry of backend.list(PROBE_FOLDER)) if (entry.key === key) return;
      throw new TierError('Rejected', 'the probe object is missing from the listing', { tier: backend.name });
    });
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  }
  // Delete even when get or list failed, so a failed probe leaves nothing behind; the first failure is reported.
  try {
    await step('delete', () => backend.delete(key));
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
  }
  if (failure !== undefined) throw failure;
}
