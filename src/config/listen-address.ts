/**
 * TIERGATE_ADDRESS: where the HTTP server listens, written as MinIO and most servers write it:
 * `127.0.0.1:9000`, `localhost:9000`, `[::1]:9000` (IPv6 in brackets) or `:9000` (every interface).
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';

/** A parsed listen address; `host` undefined means every interface (the `:9000` form). */
export interface ListenAddress {
  readonly host?: string;
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses `host:port`, `[ipv6]:port` or `:port`; throws an Error saying what is wrong. Port 0 asks for any free port. */
export function parseListenAddress(value: string): ListenAddress {
  let host: string;
  let port: string;
  if (value.startsWith('[')) {
    const match = /^\[([^\]]*)\]:([^:]*)$/.exec(value);
    if (!match) throw new Error('expected [ipv6]:port, e.g. [::1]:9000');
    [, host, port] = match;
    if (!isIPv6(host)) throw new Error(`"${host}" in brackets is not an IPv6 address`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw new Error('expected host:port, e.g. 127.0.0.1:9000, or :port for every interface');
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(':')) throw new Error('an IPv6 address must be written in brackets, e.g. [::1]:9000');
    if (host !== '' && !isIPv4(host) && (/^[\d.]+$/.test(host) || !HOSTNAME.test(host))) {
      throw new Error(`"${host}" is neither an IP address nor a valid host name`);
    }
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new Error(`port "${port}" is not a number from 0 to 65535`);
  }
  return host === '' ? { port: Number(port) } : { host, port: Number(port) };
}

/** Renders an address back in the TIERGATE_ADDRESS syntax (IPv6 in brackets), for log lines and URLs. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.host === undefined) return `:${address.port}`;
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
