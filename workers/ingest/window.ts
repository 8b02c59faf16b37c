/**
 * @module A coalescing window inside one isolate: concurrent callers' items are gathered for a few
 * milliseconds (or until the window is full) and handed to one `flush`, so they share one write.
 *
 * Every request runs in its own I/O context, and a promise settled from another request's context runs its
 * continuations there (unless `handle_cross_request_promise_resolution` is on — vitest-pool-workers turns it
 * off), where that request's I/O is forbidden. So nothing here hands work from one request to another by a
 * promise: a flush runs in the context of the request that starts it (the window's opener when its timer
 * fires, or the caller that fills it), and every other caller learns its outcome by polling a plain field
 * from timers of its own, which also tells the runtime that the waiting request is not hung.
 */

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export type Pending<T, R> = { input: T; weight: number; outcome?: Outcome<R> };

export type CoalescerOptions<T, R, C> = {
  /** How long the first item waits for company. */
  windowMs: number;
  /** A window is flushed at once when its items weigh this much (events, say). */
  maxWeight: number;
  /** Flushes running at the same time; a window waiting for a slot keeps filling. */
  maxInFlight: number;
  /** How often a waiting caller looks at its outcome. */
  pollMs: number;
  /** A caller stops waiting after this long (the request running its flush died, say). */
  deadlineMs: number;
  /** Must set `outcome` on every item it is given; `context` is the starting caller's (its env). */
  flush: (items: Pending<T, R>[], context: C) => Promise<void>;
};

type Window<T, R> = { items: Pending<T, R>[]; weight: number; started: boolean };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Coalescer<T, R, C> {
  private open: Window<T, R> | null = null;
  private inFlight = 0;
  private waitingForSlot = 0;

  constructor(private readonly options: CoalescerOptions<T, R, C>) {}

  /**
   * `runs`, when set, is a flush (or a window's timer) this call started in its own context: the caller
   * must keep it alive until it settles (`waitUntil`, or await it).
   */
  submit(input: T, weight: number, context: C): { item: Pending<T, R>; runs: Promise<void> | null } {
    const item: Pending<T, R> = { input, weight };
    const runs: Promise<void>[] = [];
    if (this.open && this.open.weight + weight > this.options.maxWeight) runs.push(this.start(this.seal(this.open), context));
    if (!this.open) {
      const window: Window<T, R> = (this.open = { items: [], weight: 0, started: false });
      runs.push(sleep(this.options.windowMs).then(() => this.start(window, context)));
    }
    const window = this.open!;
    window.items.push(item);
    window.weight += weight;
    if (window.weight >= this.options.maxWeight) runs.push(this.start(this.seal(window), context));
    return { item, runs: runs.length === 0 ? null : Promise.all(runs).then(() => undefined) };
  }

  /**
   * True when an item of this weight would wait behind another window for a flush slot: every slot is busy, a
   * window is already waiting, and the open window, if any, has no room for it. A caller with somewhere else
   * to go can go there instead.
   */
  isBacklogged(weight: number): boolean {
    const openHasRoom = this.open !== null && this.open.weight + weight <= this.options.maxWeight;
    return this.inFlight >= this.options.maxInFlight && this.waitingForSlot > 0 && !openHasRoom;
  }

  /** Nothing open, running or waiting: the coalescer can be dropped. */
  isIdle(): boolean {
    return this.open === null && this.inFlight === 0 && this.waitingForSlot === 0;
  }

  /** The item's result, once a flush has settled it. */
  async outcome(item: Pending<T, R>): Promise<R> {
    const deadline = Date.now() + this.options.deadlineMs;
    while (!item.outcome) {
      if (Date.now() > deadline) throw new Error(`the shared write did not finish within ${this.options.deadlineMs} ms`);
      await sleep(this.options.pollMs);
    }
    if (!item.outcome.ok) throw item.outcome.error;
    return item.outcome.value;
  }

  private seal(window: Window<T, R>): Window<T, R> {
    if (this.open === window) this.open = null;
    return window;
  }

  private async start(window: Window<T, R>, context: C): Promise<void> {
    if (window.started) return;
    window.started = true;
    // Waiting for a slot, the window stays open to newcomers until it is full.
    if (this.inFlight >= this.options.maxInFlight) {
      this.waitingForSlot++;
      while (this.inFlight >= this.options.maxInFlight) await sleep(this.options.pollMs);
      this.waitingForSlot--;
    }
    this.seal(window);
    this.inFlight++;
    try {
      await this.options.flush(window.items, context);
    } catch (error) {
      for (const item of window.items) item.outcome ??= { ok: false, error };
    } finally {
      this.inFlight--;
    }
  }
}
