/**
 * Time, injected: every timer of the reference peer goes through a {@link Clock}, so tests
 * drive time with {@link ManualClock} instead of sleeping.
 *
 * @module
 */

/** Opaque handle of a scheduled callback. */
export interface TimerHandle {
  /** Identifies the scheduled call to its clock. */
  readonly id: number;
}

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since an arbitrary origin (monotonic for the system clock). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a scheduled call; a no-op for one that already ran or was cancelled. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export function systemClock(): Clock {
  const live = new Map<number, ReturnType<typeof setTimeout>>();
  let next = 1;
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const id = next++;
      live.set(
        id,
        setTimeout(() => {
          live.delete(id);
          fn();
        }, ms),
      );
      return { id };
    },
    clearTimeout(handle) {
      const t = live.get(handle.id);
      if (t !== undefined) {
        clearTimeout(t);
        live.delete(handle.id);
      }
    },
  };
}

interface Scheduled {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that only moves when told to. For tests: no sleeping, no flakiness. */
export class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private queue: Scheduled[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.queue.push({ id, at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.queue = this.queue.filter((s) => s.id !== handle.id);
  }

  /** Number of callbacks scheduled and not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Moves time forward by `ms`, running every callback that falls due, in time order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.queue.filter((s) => s.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.queue = this.queue.filter((s) => s !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }
}

/**
 * A single-owner timer: `start` cancels before it schedules, `stop` is safe twice.
 */
export class Timer {
  private handle: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  /** True while a call is scheduled. */
  get active(): boolean {
    return this.handle !== undefined;
  }

  /** Schedules `fn` after `ms`, cancelling any earlier schedule. */
  start(ms: number, fn: () => void): void {
    this.stop();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      fn();
    }, ms);
  }

  /** Cancels the scheduled call, if any. */
  stop(): void {
    if (this.handle !== undefined) {
      this.clock.clearTimeout(this.handle);
      this.handle = undefined;
    }
  }
}
