/**
 * A credential in the config (root password, KMS master key, a Redis URL with a password).
 *
 * Invariant: the plaintext never reaches a log line or a JSON dump by accident. `String(secret)`, `JSON.stringify`
 * and `util.inspect` (hence console.log and the Nest logger) all print a placeholder; only `reveal()` gives the value.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** Wraps a credential so that logging or serialising the config cannot leak it. */
export class Secret<T extends string | Buffer = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = Buffer.isBuffer(value) ? (Buffer.from(value) as T) : value;
  }

  /** The plaintext, for the one place that needs it (signing, key derivation); buffers are returned as copies. */
  reveal(): T {
    return Buffer.isBuffer(this.#value) ? (Buffer.from(this.#value) as T) : this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
