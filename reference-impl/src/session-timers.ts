/**
 * The two timers of a session that is up: the periodic timer service that calls every
 * client's periodic handler (design 7.2.f), and the watchdog that ends a session whose
 * output is outstanding while neither input nor output progresses (dead-connection
 * detection). Both belong to the one session they were started for.
 *
 * @module
 */
import { Timers } from '../../codec/src/index.js';
import { Timer } from './clock.js';
import type { Dispatcher } from './dispatch.js';
import { CHANNELS, type PeerCore } from './peer-core.js';
import type { Trigger } from './reasons.js';
import type { Session } from './session.js';

/** Owner of the periodic and watchdog timers. */
export class SessionTimers {
  private readonly periodic: Timer;
  private readonly watchdog: Timer;

  /** @param onDead - ends the session the watchdog found dead. */
  constructor(
    private readonly core: PeerCore,
    private readonly dispatcher: Dispatcher,
    private readonly onDead: (trigger: Trigger) => void,
  ) {
    this.periodic = new Timer(core.clock);
    this.watchdog = new Timer(core.clock);
  }

  /** Starts both timers for `session` (each start cancels an earlier schedule). */
  start(session: Session): void {
    this.startPeriodic(session);
    this.startWatchdog(session);
  }

  /** Stops both timers; safe to call twice. */
  stop(): void {
    this.periodic.stop();
    this.watchdog.stop();
  }

  private startPeriodic(session: Session): void {
    const core = this.core;
    if (core.options.faults?.periodicNeverFires === true) return;
    const tick = (): void => {
      if (core.current !== session) return;
      for (const [client, h] of core.registry.entries())
        if (h.periodic !== undefined) this.dispatcher.call(client, 'periodic', h.periodic);
      if (core.current === session)
        this.periodic.start(core.periodicMs * (core.options.faults?.periodicScale ?? 1), tick);
    };
    this.periodic.start(core.periodicMs * (core.options.faults?.periodicScale ?? 1), tick);
  }

  /** Dead-connection detection: output outstanding and no input for deadConnectionMs. */
  private startWatchdog(session: Session): void {
    const core = this.core;
    const limit = core.options.deadConnectionMs ?? Timers.deadConnectionMs;
    const check = (): void => {
      if (core.current !== session) return;
      const now = core.clock.now();
      for (const ch of CHANNELS) {
        const link = session.links[ch]!;
        const outstanding = session.confirmations[ch].length > 0 || link.queueDepth > 0;
        // Dead: output outstanding, and neither input nor output progress for the limit
        // (a one-way flow that keeps draining is alive).
        if (outstanding && now - Math.max(link.lastInputAt, link.lastOutputAt) > limit) {
          this.onDead({
            reason: 'socketIoError',
            detail: 'deadConnection',
            text: `no progress on the ${ch} channel for ${limit} ms with output outstanding`,
          });
          return;
        }
      }
      this.watchdog.start(Math.max(1, limit / 2), check);
    };
    this.watchdog.start(Math.max(1, limit / 2), check);
  }
}
