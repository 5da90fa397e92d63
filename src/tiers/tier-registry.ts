/**
 * The tier registry: the tiers an administrator defined, loaded from the deployment-wide `tiers` document
 * (tier-document.ts: credentials sealed by the KMS), each with a ready backend. The lifecycle engine and the read
 * path ask it for a tier by name, synchronously, from memory; the admin API changes it.
 *
 * Invariants:
 * - A tier that saves is a tier that works: add and edit build the backend from the new definition and probe it
 *   (put, get, list, delete of a probe object) before anything is written.
 * - Credential rotation never waits for objects in use: the new backend is probed, the document written, then the
 *   entry swapped in one synchronous step. Callers that got the old entry keep using its backend; a retired backend
 *   is closed once its leases (`use`) are released and a grace period (default 10 minutes) has passed, so plain
 *   `get()` callers have that long to finish.
 * - A tier referenced by any object version is never removed: removal first marks the tier `removing` in the
 *   document (no node accepts it as a Transition storage class any more, and the transition action must not start
 *   a transition into it), waits for other nodes to see that, then walks the namespace; a reference puts the tier
 *   back to `active` and fails with TierInUse.
 * - One change at a time: writes are serialized in the process and, through `opts.lock` (a Redis lock in the app),
 *   across nodes; that lock is required for safety. Every write also re-reads the document and refuses
 *   (TierRegistryConflict) when its generation moved since the change began, and reads back what it wrote, but
 *   without the lock this is best-effort (no compare-and-swap on the system config): two writers can lose one
 *   update.
 * - Refresh is monotonic: a document older than the one in memory is ignored, so a slow refresh cannot undo a
 *   write this process just made.
 */
import { Md5Hasher } from '../common/md5-hasher';
import type { KmsProvider } from '../kms/kms-provider';
import type { ObjectLayer } from '../storage/object-layer';
import { createTierBackend, type TierBackendOptions } from './create-tier-backend';
import type { TierBackend } from './tier-backend';
import type { TierDefinition } from './tier-definition';
import {
  TIERS_CONFIG_NAME,
  decodeDocument,
  emptyDocument,
  encodeDocument,
  sealTier,
  unsealTier,
  type StoredTier,
  type TierLifecycleState,
  type TiersDocument,
} from './tier-document';
import type { TierReference } from './tier-references';

/** A tier ready for use. `definition` holds its keys: never serialize it (the admin API shows a redacted view). */
export interface TierEntry {
  readonly definition: TierDefinition;
  readonly backend: TierBackend;
  /** Document generation that last changed the tier's definition (what `If-Match` compares). */
  readonly generation: number;
  /** `removing` while a removal checks for references: reads work, no new transitions may start. */
  readonly state: TierLifecycleState;
  /** When the definition was last written (ISO 8601). */
  readonly updated: string;
}

/** Why the registry refused a change. */
export type TierRegistryErrorCode =
  /** No tier has that name. */
  | 'NoSuchTier'
  /** `add` of a name that exists. */
  | 'TierExists'
  /** Removal of a tier some object version references. */
  | 'TierInUse'
  /** The document changed on another node while this change was in progress (a lost update refused). */
  | 'TierRegistryConflict'
  /** `ifGeneration` did not match the tier's generation. */
  | 'PreconditionFailed'
  /** The change is not allowed (a field that cannot change on edit). */
  | 'InvalidArgument';

/** A refused registry change; messages never carry credentials. */
export class TierRegistryError extends Error {
  constructor(
    readonly code: TierRegistryErrorCode,
    message: string,
    readonly reference?: TierReference,
  ) {
    super(message);
    this.name = 'TierRegistryError';
  }
}

/** How the registry runs. */
export interface TierRegistryOptions {
  /** Per-cloud backend tuning (tests: s3rver needs `s3.checksums: 'when-required'`). */
  backendOptions?: TierBackendOptions;
  /** Runs a change holding a lock shared by every node (the app passes a Redis lock). */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** How long a retired backend stays open after its last lease, ms (default 600000). */
  retireGraceMs?: number;
  /** Pause between marking a tier `removing` and walking for references, ms: at least the refresh interval. */
  removalSettleMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Conditions of a change. */
export interface ChangeOptions {
  /** Refuse (PreconditionFailed) unless the tier's current generation is this one. */
  ifGeneration?: number;
}

/** What answers "is this tier referenced?": a reference (or true) refuses the removal. */
export type ReferenceCheck = () => Promise<TierReference | boolean | undefined>;

/** A backend and who is using it. */
interface Held {
  entry: TierEntry;
  leases: number;
  retired: boolean;
  graceOver: boolean;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

const IMMUTABLE: readonly ('type' | 'bucket' | 'prefix')[] = ['type', 'bucket', 'prefix'];
const COMPARED: readonly (keyof TierDefinition)[] = [
  'name',
  'type',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'storageClass',
  'accessKey',
  'secretKey',
];

/** The registry of one process. */
export class TierRegistry {
  private doc: TiersDocument = emptyDocument();
  private readonly held = new Map<string, Held>();
  private readonly retired = new Set<Held>();
  /** Tiers of the document whose keys could not be unsealed (KMS down...), with the reason; retried on refresh. */
  private readonly problems = new Map<string, string>();
  private writeChain: Promise<unknown> = Promise.resolve();
  private applyChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Hashes the backends' uploads (their receipts) off the event loop; started on first use, stopped at close. */
  private readonly md5 = new Md5Hasher();
  private readonly backendOptions: TierBackendOptions;

  private constructor(
    private readonly layer: ObjectLayer,
    private readonly kms: KmsProvider,
    private readonly opts: TierRegistryOptions,
  ) {
    this.backendOptions = { md5: this.md5, ...opts.backendOptions };
  }

  /** Loads the document and unseals every tier's keys. A damaged document fails the open. */
  static async open(
    layer: ObjectLayer,
    kms: KmsProvider,
    opts: TierRegistryOptions = {},
  ): Promise<TierRegistry> {
    const registry = new TierRegistry(layer, kms, opts);
    await registry.refresh();
    return registry;
  }

  /** Generation of the document in memory (0: no tier was ever stored). */
  get generation(): number {
    return this.doc.generation;
  }

  /** The tier named `name`, from memory. */
  get(name: string): TierEntry | undefined {
    return this.held.get(name)?.entry;
  }

  /** Every usable tier, by name. */
  list(): TierEntry[] {
    return [...this.held.values()]
      .map((h) => h.entry)
      .sort((a, b) => a.definition.name.localeCompare(b.definition.name));
  }

  /** Tiers stored but not usable here (their keys did not unseal), with the reason. */
  unavailable(): ReadonlyMap<string, string> {
    return this.problems;
  }

  /** Whether `name` is in the stored document, usable here or not (see `unavailable()`). */
  isStored(name: string): boolean {
    return this.doc.tiers.some((t) => t.name === name);
  }

  /** Whether a lifecycle Transition may name `name`: a stored tier not being removed. */
  isKnownStorageClass(name: string): boolean {
    return this.doc.tiers.some((t) => t.name === name && t.state === 'active');
  }

  /** Runs `fn` with the tier's current entry, keeping its backend open until `fn` settles (even across a rotation). */
  async use<T>(name: string, fn: (entry: TierEntry) => Promise<T>): Promise<T> {
    const h = this.held.get(name);
    if (h === undefined) throw new TierRegistryError('NoSuchTier', `no tier is named ${name}`);
    h.leases++;
    try {
      return await fn(h.entry);
    } finally {
      h.leases--;
      if (h.retired && h.graceOver && h.leases === 0) this.closeHeld(h);
    }
  }

  /** Adds a new tier after probing it; TierExists when the name is taken. */
  add(def: TierDefinition): Promise<TierEntry> {
    return this.exclusive(async () => {
      if (this.stored(def.name)) throw new TierRegistryError('TierExists', `a tier named ${def.name} exists`);
      return this.write(def, undefined);
    });
  }

  /** Changes a tier (credential rotation): probes the new definition, stores it, then swaps the entry. */
  edit(name: string, def: TierDefinition, opts: ChangeOptions = {}): Promise<TierEntry> {
    return this.exclusive(async () => {
      const current = this.requireStored(name, opts);
      return (await this.editLocked(current, def)).entry;
    });
  }

  /** Adds `def`, or edits the tier of that name: what `PUT /tiers` does. */
  put(
    def: TierDefinition,
    opts: ChangeOptions = {},
  ): Promise<{ entry: TierEntry; created: boolean; changed: boolean }> {
    return this.exclusive(async () => {
      const current = this.stored(def.name);
      if (current === undefined) {
        if (opts.ifGeneration !== undefined)
          throw new TierRegistryError(
            'PreconditionFailed',
            `no tier named ${def.name} to match generation ${opts.ifGeneration}`,
          );
        return { entry: await this.write(def, undefined), created: true, changed: true };
      }
      this.requireStored(def.name, opts);
      return { ...(await this.editLocked(current, def)), created: false };
    });
  }

  /**
   * Removes a tier unless `isReferenced` finds a version that uses it (TierInUse). `isReferenced` is typically
   * `() => tierReferences(layer, name)`: a namespace walk, so this takes as long as listing every version.
   */
  remove(name: string, isReferenced: ReferenceCheck, opts: ChangeOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      const current = this.requireStored(name, opts);
      if (current.state !== 'removing') await this.commit(this.withState(name, 'removing'));
      const settle = this.opts.removalSettleMs ?? 0;
      if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
      let found: TierReference | boolean | undefined;
      try {
        found = await isReferenced();
      } catch (err) {
        await this.commit(this.withState(name, 'active'));
        throw err;
      }
      if (found !== undefined && found !== false) {
        await this.commit(this.withState(name, 'active'));
        const ref = typeof found === 'object' ? found : undefined;
        const where = ref ? `: ${ref.bucket}/${ref.key} (version ${ref.versionId}) is in it` : '';
        throw new TierRegistryError(
          'TierInUse',
          `tier ${name} is referenced by object versions${where}; delete or restore them before removing the tier`,
          ref,
        );
      }
      await this.commit({ ...this.next(), tiers: this.doc.tiers.filter((t) => t.name !== name) });
    });
  }

  /** Reloads the document (other nodes' changes); unseals and rebuilds only the tiers whose generation moved. */
  refresh(): Promise<void> {
    return this.serialApply(async () =>
      this.apply(decodeDocument(await this.layer.getSystemConfig(TIERS_CONFIG_NAME))),
    );
  }

  /** Closes every backend, retired ones included. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writeChain.catch(() => undefined);
    for (const h of [...this.held.values(), ...this.retired]) this.closeHeld(h);
    this.held.clear();
    await this.md5.close();
  }

  // ---- changes ----------------------------------------------------------------------------------------------

  /** Runs a change alone in this process (and across nodes with `opts.lock`), on a freshly read document. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new Error('the tier registry is closed');
      const locked = async (): Promise<T> => {
        await this.refresh();
        return fn();
      };
      return this.opts.lock ? this.opts.lock(locked) : locked();
    };
    const result = this.writeChain.then(run, run);
    this.writeChain = result.catch(() => undefined);
    return result;
  }

  private stored(name: string): StoredTier | undefined {
    return this.doc.tiers.find((t) => t.name === name);
  }

  private requireStored(name: string, opts: ChangeOptions): StoredTier {
    const current = this.stored(name);
    if (current === undefined) throw new TierRegistryError('NoSuchTier', `no tier is named ${name}`);
    if (opts.ifGeneration !== undefined && opts.ifGeneration !== current.generation)
      throw new TierRegistryError(
        'PreconditionFailed',
        `tier ${name} is at generation ${current.generation}, not ${opts.ifGeneration}`,
      );
    return current;
  }

  private async editLocked(
    current: StoredTier,
    def: TierDefinition,
  ): Promise<{ entry: TierEntry; changed: boolean }> {
    if (def.name !== current.name)
      throw new TierRegistryError('InvalidArgument', `the definition names ${def.name}, not ${current.name}`);
    for (const field of IMMUTABLE) {
      if ((def[field] ?? '') !== (current[field] ?? ''))
        throw new TierRegistryError(
          'InvalidArgument',
          `tier ${current.name}: ${field} cannot change (objects already in the tier are addressed by it); add a new tier instead`,
        );
    }
    const live = this.held.get(current.name)?.entry;
    if (live && current.state === 'active' && sameDefinition(live.definition, def))
      return { entry: live, changed: false };
    return { entry: await this.write(def, current), changed: true };
  }

  /** Builds and probes the backend of `def`, stores the sealed definition, then swaps the entry in. */
  private async write(def: TierDefinition, current: StoredTier | undefined): Promise<TierEntry> {
    const overlap = this.doc.tiers.find((t) => t.name !== def.name && sharesPrefix(t, def));
    if (overlap) {
      // Each tier's reconciler owns everything under its prefix: two tiers whose prefixes nest in one bucket would
      // each see the other's objects as unreferenced and remove them.
      throw new TierRegistryError(
        'InvalidArgument',
        `tier ${def.name} would share ${def.type} bucket ${def.bucket} with tier ${overlap.name} under nested ` +
          `prefixes ("${def.prefix}" and "${overlap.prefix}"): give each tier its own bucket or disjoint prefixes`,
      );
    }
    const backend = createTierBackend(def, this.backendOptions);
    try {
      await backend.probe();
      const generation = this.doc.generation + 1;
      const stored = await sealTier(def, this.kms, generation);
      const tiers = current
        ? this.doc.tiers.map((t) => (t.name === def.name ? stored : t))
        : [...this.doc.tiers, stored];
      const entry: TierEntry = {
        definition: { ...def },
        backend,
        generation,
        state: 'active',
        updated: stored.updated,
      };
      await this.commit({ ...this.next(), tiers }, new Map([[def.name, entry]]));
      this.opts.log?.('info', `tier ${def.name} ${current ? 'changed' : 'added'} (generation ${generation})`);
      return entry;
    } catch (err) {
      if (this.held.get(def.name)?.entry.backend !== backend) backend.close();
      throw err;
    }
  }

  /** The header of the next document (generation + 1, a fresh write id). */
  private next(): Omit<TiersDocument, 'tiers'> {
    return {
      format: this.doc.format,
      version: this.doc.version,
      generation: this.doc.generation + 1,
      writeId: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
    };
  }

  private withState(name: string, state: TierLifecycleState): TiersDocument {
    return { ...this.next(), tiers: this.doc.tiers.map((t) => (t.name === name ? { ...t, state } : t)) };
  }

  /**
   * Writes `next` if the stored document is still the one this change started from, reads it back, and applies it
   * (with `ready` entries for the tiers this change built, so their keys are not unsealed again).
   */
  private async commit(next: TiersDocument, ready?: Map<string, TierEntry>): Promise<void> {
    const base = this.doc;
    const conflict = (seen: TiersDocument): TierRegistryError =>
      new TierRegistryError(
        'TierRegistryConflict',
        `the tier registry changed on another gateway during this change (generation ${base.generation} became ${seen.generation}); read it again and retry`,
      );
    const before = decodeDocument(await this.layer.getSystemConfig(TIERS_CONFIG_NAME));
    if (before.generation !== base.generation || before.writeId !== base.writeId) throw conflict(before);
    await this.layer.putSystemConfig(TIERS_CONFIG_NAME, encodeDocument(next));
    const after = decodeDocument(await this.layer.getSystemConfig(TIERS_CONFIG_NAME));
    if (after.writeId !== next.writeId) throw conflict(after);
    await this.serialApply(() => this.apply(next, ready));
  }

  // ---- applying a document ------------------------------------------------------------------------------------

  private serialApply(fn: () => Promise<void>): Promise<void> {
    const result = this.applyChain.then(fn, fn);
    this.applyChain = result.catch(() => undefined);
    return result;
  }

  /** Makes memory match `doc` (ignored when older than what memory holds). */
  private async apply(doc: TiersDocument, ready = new Map<string, TierEntry>()): Promise<void> {
    if (this.closed) return;
    if (doc.generation < this.doc.generation) return;
    if (
      doc.generation === this.doc.generation &&
      doc.writeId === this.doc.writeId &&
      this.problems.size === 0
    )
      return;
    for (const stored of doc.tiers) {
      const h = this.held.get(stored.name);
      if (h && h.entry.generation === stored.generation) {
        if (h.entry.state !== stored.state) h.entry = { ...h.entry, state: stored.state };
        continue;
      }
      let entry = ready.get(stored.name);
      if (entry === undefined) {
        try {
          const definition = await unsealTier(stored, this.kms);
          const backend = createTierBackend(definition, this.backendOptions);
          entry = {
            definition,
            backend,
            generation: stored.generation,
            state: stored.state,
            updated: stored.updated,
          };
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          if (this.problems.get(stored.name) !== why)
            this.opts.log?.(
              'error',
              `tier ${stored.name} cannot be used: ${why}; retrying at the next refresh`,
            );
          this.problems.set(stored.name, why);
          continue;
        }
      }
      this.problems.delete(stored.name);
      this.swap(stored.name, entry);
    }
    const names = new Set(doc.tiers.map((t) => t.name));
    for (const [name, h] of this.held) {
      if (names.has(name)) continue;
      this.held.delete(name);
      this.retire(h);
    }
    for (const name of this.problems.keys()) if (!names.has(name)) this.problems.delete(name);
    this.doc = doc;
  }

  /** Puts `entry` in place of the tier's current one, in one synchronous step. */
  private swap(name: string, entry: TierEntry): void {
    const old = this.held.get(name);
    this.held.set(name, { entry, leases: 0, retired: false, graceOver: false, closed: false });
    if (old && old.entry.backend !== entry.backend) this.retire(old);
  }

  /** Closes `h`'s backend once it has no leases and the grace period has passed. */
  private retire(h: Held): void {
    h.retired = true;
    this.retired.add(h);
    h.timer = setTimeout(() => {
      h.graceOver = true;
      if (h.leases === 0) this.closeHeld(h);
    }, this.opts.retireGraceMs ?? 600_000);
    h.timer.unref();
  }

  private closeHeld(h: Held): void {
    if (h.timer) clearTimeout(h.timer);
    this.retired.delete(h);
    if (h.closed) return;
    h.closed = true;
    h.entry.backend.close();
  }
}

/**
 * True when `a` and `b` name one bucket (bucket names are global per cloud and endpoint) and one prefix contains the
 * other (the empty prefix contains every other).
 */
function sharesPrefix(
  a: Pick<TierDefinition, 'type' | 'endpoint' | 'bucket' | 'prefix'>,
  b: Pick<TierDefinition, 'type' | 'endpoint' | 'bucket' | 'prefix'>,
): boolean {
  const endpoint = (e: string | undefined): string => (e ?? '').replace(/\/+$/, '').toLowerCase();
  return (
    a.type === b.type &&
    endpoint(a.endpoint) === endpoint(b.endpoint) &&
    a.bucket === b.bucket &&
    (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix))
  );
}

function sameDefinition(a: TierDefinition, b: TierDefinition): boolean {
  return COMPARED.every((f) => (a[f] ?? '') === (b[f] ?? ''));
}
