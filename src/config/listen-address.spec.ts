import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatListenAddress, type ListenAddress, parseListenAddress } from './listen-address';

describe('parseListenAddress', () => {
  const good: [string, ListenAddress][] = [
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['localhost:9000', { host: 'localhost', port: 9000 }],
    ['gw-1.example.com:443', { host: 'gw-1.example.com', port: 443 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[::]:9000', { host: '::', port: 9000 }],
    ['[2001:db8::7]:65535', { host: '2001:db8::7', port: 65535 }],
    [':9000', { port: 9000 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ];
  for (const [value, expected] of good) {
    it(`parses ${value}`, () => assert.deepEqual(parseListenAddress(value), expected));
  }

  const bad: [string, RegExp][] = [
    ['9000', /expected host:port/],
    ['127.0.0.1', /expected host:port/],
    ['127.0.0.1:', /port "" is not a number/],
    ['127.0.0.1:65536', /port "65536" is not a number from 0 to 65535/],
    ['127.0.0.1:http', /port "http"/],
    ['127.0.0.1:-1', /port "-1"/],
    ['::1:9000', /IPv6 address must be written in brackets/],
    ['[::1]', /expected \[ipv6\]:port/],
    ['[127.0.0.1]:9000', /not an IPv6 address/],
    ['[::1]:9000:1', /expected \[ipv6\]:port/],
    ['999.1.1.1:9000', /neither an IP address nor a valid host name/],
    ['bad_host:9000', /neither an IP address nor a valid host name/],
    ['-a.example:9000', /neither an IP address/],
  ];
  for (const [value, error] of bad) {
    it(`rejects ${value}`, () => assert.throws(() => parseListenAddress(value), error));
  }
});

describe('formatListenAddress', () => {
  for (const text of ['127.0.0.1:9000', '[::1]:9000', ':9000', 'localhost:1']) {
    it(`round-trips ${text}`, () => assert.equal(formatListenAddress(parseListenAddress(text)), text));
  }
});
