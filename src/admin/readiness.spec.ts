import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriveStatus, StorageStatus } from '../storage/object-layer';
import { readiness } from './readiness';

type State = DriveStatus['state'];

/** A status with one set per entry: its drive states and quorum flags as the storage engine reports them. */
function status(...sets: { states: State[]; read: boolean; write: boolean }[]): StorageStatus {
  return {
    deploymentId: 'test',
    sets: sets.map((s, index) => ({
      index,
      dataShards: 2,
      parityShards: 2,
      readQuorum: s.read,
      writeQuorum: s.write,
      drives: s.states.map((state, driveIndex) => ({
        endpoint: `/d${index}-${driveIndex}`,
        setIndex: index,
        driveIndex,
        state,
      })),
    })),
  };
}

describe('readiness', () => {
  const cases: { name: string; input: StorageStatus | undefined; ready: boolean }[] = [
    {
      name: 'all drives ok',
      input: status({ states: ['ok', 'ok', 'ok', 'ok'], read: true, write: true }),
      ready: true,
    },
    {
      name: 'a healing drive still counts',
      input: status({ states: ['ok', 'healing', 'ok', 'offline'], read: true, write: true }),
      ready: true,
    },
    {
      name: 'read quorum without write quorum',
      input: status({ states: ['ok', 'ok', 'faulty', 'offline'], read: true, write: false }),
      ready: false,
    },
    {
      name: 'one set of two without quorum',
      input: status(
        { states: ['ok', 'ok', 'ok', 'ok'], read: true, write: true },
        { states: ['faulty', 'faulty', 'faulty', 'ok'], read: false, write: false },
      ),
      ready: false,
    },
    { name: 'no sets at all', input: status(), ready: false },
    { name: 'status unreadable', input: undefined, ready: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ready ? 'ready' : 'unready'}`, () => {
      assert.equal(readiness(c.input).status, c.ready ? 'ready' : 'unready');
    });
  }

  it('reports each set with its quorums, online count and drive states, without endpoints', () => {
    const body = readiness(
      status({ states: ['ok', 'healing', 'faulty', 'offline'], read: true, write: false }),
    );
    assert.deepEqual(body, {
      status: 'unready',
      sets: [
        {
          index: 0,
          dataShards: 2,
          parityShards: 2,
          readQuorum: true,
          writeQuorum: false,
          drivesOnline: 2,
          drives: [
            { drive: 0, state: 'ok' },
            { drive: 1, state: 'healing' },
            { drive: 2, state: 'faulty' },
            { drive: 3, state: 'offline' },
          ],
        },
      ],
    });
    assert.ok(!JSON.stringify(body).includes('/d0-'), 'endpoints are not exposed');
  });

  it('says why when the status could not be read', () => {
    assert.deepEqual(readiness(undefined), {
      status: 'unready',
      sets: [],
      error: 'storage status unavailable',
    });
  });
});
