import { describe, expect, it } from 'vitest';
import { mergeStreams } from './page-streams.js';

/** A source whose pages the test delivers by hand; it records when it was asked for one. */
function manualSource(name: string, pages: number) {
  const asked: number[] = [];
  const deliveries: ((result: IteratorResult<string>) => void)[] = [];
  const failures: ((error: Error) => void)[] = [];
  let returned = false;
  let sent = 0;
  const source: AsyncIterator<string> = {
    next: () => {
      asked.push(sent);
      return new Promise((resolve, reject) => {
        deliveries.push(resolve);
        failures.push(reject);
      });
    },
    return: async () => {
      returned = true;
      return { done: true, value: undefined };
    },
  };
  return {
    source,
    asked,
    get returned() {
      return returned;
    },
    deliver() {
      const done = sent >= pages;
      deliveries.shift()!(done ? { done: true, value: undefined } : { done: false, value: `${name}${sent++}` });
      failures.shift();
    },
    fail(error: Error) {
      deliveries.shift();
      failures.shift()!(error);
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mergeStreams', () => {
  it('yields pages in arrival order and asks a source again as soon as its page arrived', async () => {
    const a = manualSource('a', 2);
    const b = manualSource('b', 1);
    const merged = mergeStreams([a.source, b.source]);
    const first = merged.next();
    await tick();
    b.deliver();
    expect((await first).value).toBe('b0');
    a.deliver();
    await tick();
    // Asked again on arrival, before the consumer took a0.
    expect(a.asked).toHaveLength(2);
    expect((await merged.next()).value).toBe('a0');
    a.deliver();
    b.deliver();
    expect((await merged.next()).value).toBe('a1');
    a.deliver();
    expect((await merged.next()).done).toBe(true);
  });

  it('stops asking once `waiting` pages wait, and asks again when the consumer takes one', async () => {
    const a = manualSource('a', 10);
    const merged = mergeStreams([a.source], 2);
    const first = merged.next();
    await tick();
    a.deliver(); // taken by the pending next()
    await tick();
    expect((await first).value).toBe('a0');
    a.deliver(); // waits (1)
    await tick();
    a.deliver(); // waits (2): the limit, so no new request
    await tick();
    expect(a.asked).toHaveLength(3);
    expect((await merged.next()).value).toBe('a1');
    await tick();
    expect(a.asked).toHaveLength(4);
    await merged.return(undefined);
  });

  it('ends with the first failure and stops the other sources', async () => {
    const a = manualSource('a', 5);
    const b = manualSource('b', 5);
    const merged = mergeStreams([a.source, b.source]);
    const first = merged.next();
    await tick();
    a.fail(new Error('CRM went away'));
    await expect(first).rejects.toThrow('CRM went away');
    expect(b.returned).toBe(true);
  });
});
