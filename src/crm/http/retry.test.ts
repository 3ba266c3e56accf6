import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from './retry.js';

describe('sleep', () => {
  it('leaves no listener on the signal once the wait is over, however many waits share it', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ends early with the signal reason when aborted', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
