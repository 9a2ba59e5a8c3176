// The progress reporter: plain lines off a terminal, rate and ETA from the items done since it started
// (a resumed run's earlier steps count toward the total but not toward the rate).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration } from '../src/util/progress.ts';

function recorder() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (s: string) => (lines.push(s), true) } as never };
}

describe('Progress', () => {
  it('prints count/total, throughput and ETA as plain lines, at most once per interval', () => {
    let t = 0;
    const { lines, stream } = recorder();
    const p = new Progress('train', 100, { unit: 'steps', stream, intervalMs: 1000, now: () => t });
    t = 2000;
    p.set({ loss: 0.5 });
    p.tick(10);
    p.tick(0); // same instant: no second line
    assert.deepEqual(lines, ['train  10/100  5.00 steps/s  eta 18s  loss=0.5000\n']);
  });

  it('resumed at step 1000 of 2000, rates only the steps since: 10 steps in 10 s leaves 990 s, not 10 s', () => {
    let t = 0;
    const { lines, stream } = recorder();
    const p = new Progress('train-vae', 2000, { unit: 'steps', start: 1000, stream, intervalMs: 0, now: () => t });
    t = 10_000;
    p.tick(10);
    assert.equal(p.count, 1010);
    assert.equal(p.rate(), 1);
    assert.equal(lines[0], 'train-vae  1010/2000  1.00 steps/s  eta 16m30s\n');
  });

  it('formats durations', () => {
    assert.deepEqual([42, 187, 7500].map(formatDuration), ['42s', '3m07s', '2h05m']);
  });
});
