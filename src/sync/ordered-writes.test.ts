import { describe, expect, it } from 'vitest';
import { OrderedWrites } from './ordered-writes.js';

/** A write the test finishes by hand, recording the batches it was given. */
function gatedWriter() {
  const batches: number[][] = [];
  const gates: { open: () => void; fail: (error: Error) => void }[] = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      gates.push({ open: resolve, fail: reject });
    });
  return { batches, gates, write };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('OrderedWrites', () => {
  it('writes in push order, one write at a time, and groups what arrived while a write ran', async () => {
    const { batches, gates, write } = gatedWriter();
    const writes = new OrderedWrites(write, 4);
    await writes.push(1);
    await writes.push(2);
    await writes.push(3);
    expect(batches).toEqual([[1]]);
    gates[0]!.open();
    await tick();
    expect(batches).toEqual([[1], [2, 3]]);
    await writes.push(4);
    gates[1]!.open();
    await tick();
    expect(batches).toEqual([[1], [2, 3], [4]]);
    gates[2]!.open();
    await writes.drain();
  });

  it('makes the producer wait once maxPending items wait', async () => {
    const { batches, gates, write } = gatedWriter();
    const writes = new OrderedWrites(write, 2);
    await writes.push(1);
    await writes.push(2);
    let returned = false;
    const third = writes.push(3).then(() => (returned = true));
    await tick();
    expect(returned).toBe(false);
    gates[0]!.open();
    await third;
    expect(batches).toEqual([[1], [2, 3]]);
    gates[1]!.open();
    await writes.drain();
  });

  it('stops writing after a failure and reports it to the producer', async () => {
    const { batches, gates, write } = gatedWriter();
    const writes = new OrderedWrites(write, 4);
    await writes.push(1);
    await writes.push(2);
    gates[0]!.fail(new Error('disk full'));
    await tick();
    expect(batches).toEqual([[1]]);
    await expect(writes.push(3)).rejects.toThrow('disk full');
    await expect(writes.drain()).rejects.toThrow('disk full');
    await writes.settle();
    expect(batches).toEqual([[1]]);
  });

  it('settle waits for the write in progress and drops what waits', async () => {
    const { batches, gates, write } = gatedWriter();
    const writes = new OrderedWrites(write, 4);
    await writes.push(1);
    await writes.push(2);
    let settled = false;
    const settling = writes.settle().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    gates[0]!.open();
    await settling;
    expect(batches).toEqual([[1]]);
  });

  it('weighs items: waits and groups by weight, and still writes an item heavier than the limit alone', async () => {
    const { batches, gates, write } = gatedWriter();
    const writes = new OrderedWrites(write, 10, (item: number) => item);
    await writes.push(12);
    await writes.push(4);
    await writes.push(5);
    let returned = false;
    const heavy = writes.push(3).then(() => (returned = true));
    await tick();
    expect(returned).toBe(false);
    gates[0]!.open();
    await heavy;
    expect(batches).toEqual([[12], [4, 5]]);
    gates[1]!.open();
    await tick();
    expect(batches).toEqual([[12], [4, 5], [3]]);
    gates[2]!.open();
    await writes.drain();
  });
});
