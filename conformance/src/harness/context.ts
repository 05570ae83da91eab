/**
 * What a case sees: connections to the peer on the side it is on, session set-up on both
 * sides (the suite claims the protocol role the peer does not play), barriers, scaled timeouts, and the ways a case ends (fail, skip).
 *
 * Why one file past ~500 lines: the context is the one surface a case sees; its parts (session
 * set-up in both roles, barriers, timeouts, the endings) are the case API and are read together.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  ChannelId,
  CleanupDetail,
  CleanupReason,
  ERROR_CODES,
  Feature,
  Limits,
  PROTOCOL_VERSIONS,
  RejectReason,
  Role,
  Timers,
  type ChannelName,
  type ControlHelloAckBody,
  type ControlHelloBody,
  type DecodedMessage,
} from '../../../codec/src/index.js';
import type { CaseNeed } from '../cases/case.js';
import type { PeerRole } from '../report.js';
import type { Violation } from './oracle.js';
import type { Incoming, Transcript } from './wire.js';
import { Wire } from './wire.js';
import type { PeerSide, Target } from './target.js';
import type { Topology } from '../../../reference-impl/src/peer-options.js';
import type { Connection } from '../../../reference-impl/src/transport.js';

/** The peer did not do what the spec requires. */
export class CaseFailure extends Error {
  /**
   * @param expected - what the spec requires, in words.
   * @param observed - what the peer did instead.
   * @param requirement - the requirement broken, when it is not (only) the case's own.
   */
  constructor(
    readonly expected: string,
    readonly observed: string,
    readonly requirement?: string,
  ) {
    super(`expected ${expected}; observed ${observed}`);
    this.name = 'CaseFailure';
  }
}

/** The case cannot judge this peer (with the reason). */
export class CaseSkip extends Error {
  /** @param reason - why the case cannot judge this peer. */
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CaseSkip';
  }
}

/** Facts about the peer under test that cases need. */
export interface PeerFacts {
  /** The peer's handshake timeout, ms (default the spec's). */
  readonly handshakeTimeoutMs: number;
}

/** A session the suite holds with the peer: both channels bound. */
export interface SuiteSession {
  /** Session id, the same on both channels. */
  readonly id: bigint;
  /** The send channel's connection. */
  readonly send: Wire;
  /** The receive channel's connection. */
  readonly receive: Wire;
  /** Negotiated protocol version. */
  readonly version: number;
  /** Features both sides support. */
  readonly features: number;
  /** Largest message the peer accepts. */
  readonly peerMaxMessage: number;
  /** What the peer said in its HELLO (it connects) or HELLO-ACK (it listens). */
  readonly peerHello: ControlHelloBody | ControlHelloAckBody;
}

/** Describes an incoming outcome for reports. */
export function describe(item: Incoming | undefined): string {
  if (item === undefined) return 'nothing';
  if (item.kind === 'closed')
    return item.error === undefined ? 'the connection closed' : `the connection failed (${item.error.message})`;
  if (item.kind === 'garbage') return `undecodable bytes (${item.error.code})`;
  return describeMessage(item.message);
}

/** One-line description of a message. */
export function describeMessage(m: DecodedMessage): string {
  if (m.name === null)
    return `unknown message type 0x${m.header.type.toString(16)} subtype 0x${m.header.subtype.toString(16)}`;
  if (m.name === 'control.error') {
    const b = m.body as { code: number; text: string };
    return `ERROR ${ERROR_CODES[b.code] ?? b.code} ("${b.text}")`;
  }
  if (m.name === 'control.helloReject') {
    const b = m.body as { reason: number };
    return `HELLO-REJECT ${Object.entries(RejectReason).find(([, v]) => v === b.reason)?.[0] ?? b.reason}`;
  }
  return m.name;
}

/** Features the suite offers. */
const SUITE_FEATURES = Feature.deliveryAck | Feature.conformanceProbe;

/** Why a case that needs a feature is skipped on a peer that does not advertise it. */
const FEATURE_SKIPS: Readonly<Partial<Record<CaseNeed, { bit: number; reason: string }>>> = {
  conformanceProbe: {
    bit: Feature.conformanceProbe,
    reason: 'the peer does not offer the conformance probe (KKCM-PROBE-1; `kkcm peer --conformance-probe`)',
  },
  deliveryAck: { bit: Feature.deliveryAck, reason: 'the peer does not advertise deliveryAck' },
};

/** Longest wait honoured for a HELLO-REJECT sessionBusy's retryAfterMs, in ms (before scaling). */
const BUSY_RETRY_CAP_MS = 1000;

/**
 * Most connections in a row the suite passes over when the connecting peer closes each before
 * sending a byte (see {@link CaseContext.helloConnection}). An attempt the peer gives up leaves
 * at most one such connection per channel; more than this in a row is a peer that never opens
 * with a HELLO.
 */
const MAX_SILENT_CLOSES = 8;

/** A connection from the connecting peer, and the HELLO it opened with. */
export interface HelloConnection {
  /** The connection. */
  readonly wire: Wire;
  /** Its first message. */
  readonly hello: ControlHelloBody;
}

/** Everything a running case can use. */
export class CaseContext {
  /** What the wire oracle saw the peer break, in order. */
  readonly violations: Violation[] = [];
  private connCount = 0;
  private readonly wires: Wire[] = [];
  private token = 1;

  /**
   * Made by the runner for each case and role.
   *
   * @param role - the role the peer under test plays in this run of the case.
   * @param target - how to reach the peer.
   * @param transcript - where the case's traffic is recorded.
   * @param scale - the timeout scale factor.
   * @param facts - what the case needs to know about the peer.
   * @param needs - the peer features the case declared it needs (see `ConformanceCase.needs`).
   * @internal
   */
  constructor(
    readonly role: PeerRole,
    private readonly target: Target,
    readonly transcript: Transcript,
    private readonly scale: number,
    readonly facts: PeerFacts,
    readonly needs: readonly CaseNeed[] = [],
  ) {}

  /** Records what the oracle saw the peer break, once per requirement and expectation. */
  private readonly onViolation = (v: Violation): void => {
    this.transcript.note(`violation of ${v.requirement}: expected ${v.expected}; observed ${v.observed}`);
    this.violations.push(v);
  };

  /** A base timeout scaled by `--timeout-scale`. */
  ms(base: number): number {
    return Math.round(base * this.scale);
  }

  /** Default wait for one expected reaction. */
  get expectMs(): number {
    return this.ms(2000);
  }

  /** Whether the peer under test listens or connects. */
  get side(): PeerSide {
    return this.target.side;
  }

  /** The peer's topology, when the run knows it. */
  get topology(): Topology | undefined {
    return this.target.topology;
  }

  /** The role value the peer claims on the wire (Role.master or Role.backup). */
  get peerRoleValue(): number {
    return Role[this.role];
  }

  /** The role value the suite claims: the one the peer does not play [KKCM-SESS-13]. */
  get suiteRoleValue(): number {
    return this.role === 'master' ? Role.backup : Role.master;
  }

  /** A fresh token for probes and echoes. */
  nextToken(): number {
    return this.token++;
  }

  /**
   * A new connection: to the peer when it listens; the peer's next connection when it
   * connects (it reconnects after each case).
   */
  async connection(channel: ChannelName | null = null): Promise<Wire> {
    const conn = this.side === 'listen' ? await this.target.connect() : await this.nextConnection();
    const wire = new Wire(
      conn,
      ++this.connCount,
      channel,
      this.transcript,
      this.onViolation,
      this.needs.includes('conformanceProbe'),
    );
    this.wires.push(wire);
    return wire;
  }

  /**
   * The connecting peer's next connection that opens with a HELLO, and that HELLO. A
   * connection the peer closes before sending a single byte belongs to an attempt it gave up
   * while that connection was still being set up (the suite refused or dropped the attempt's
   * other channel, or an earlier case ended it): no rule is broken (the peer sent nothing that
   * is not a HELLO), so it is noted in the transcript and passed over, up to 8 in a row
   * (`MAX_SILENT_CLOSES`).
   *
   * @param expected - what the failure says was expected.
   * @param requirement - the requirement a connection without a HELLO breaks (none: the case's own).
   * @throws CaseFailure when the first thing on a connection is not a HELLO (another message,
   *   bytes that are no message, silence until the handshake timeout, a close after bytes),
   *   or when the peer closed 8 connections in a row before a byte.
   */
  async helloConnection(
    expected = 'HELLO as the first message of the connection',
    requirement: string | undefined = 'KKCM-SESS-1',
  ): Promise<HelloConnection> {
    for (let silent = 0; ; silent++) {
      const wire = await this.connection();
      const r = await wire.expectMessage('control.hello', this.ms(this.facts.handshakeTimeoutMs));
      if (r.found !== undefined) return { wire, hello: r.found.body };
      if (r.other?.kind !== 'closed' || wire.bytesReceived > 0 || silent + 1 >= MAX_SILENT_CLOSES)
        throw new CaseFailure(
          expected,
          silent + 1 >= MAX_SILENT_CLOSES && r.other?.kind === 'closed' && wire.bytesReceived === 0
            ? `${MAX_SILENT_CLOSES} connections in a row closed by the peer before a single byte`
            : describe(r.other),
          requirement,
        );
      this.transcript.note(
        `connection ${wire.number} closed by the peer before a byte: an attempt it gave up; taking the next connection`,
      );
    }
  }

  /**
   * How long the suite waits for the connecting peer's next connection: the attempt it may
   * still have pending ends within the handshake timeout, the next one starts within the
   * largest backoff with its jitter (KKCM-SESS-14), plus 1 s for the connect itself.
   */
  get reconnectMs(): number {
    return this.ms(this.facts.handshakeTimeoutMs + Timers.reconnectMaxMs * (1 + Timers.reconnectJitter) + 1000);
  }

  /**
   * The connecting peer's next connection. One that does not come back breaks KKCM-SESS-14
   * (it must reconnect after every session end): a fail of that requirement, not a harness
   * error.
   */
  private async nextConnection(): Promise<Connection> {
    const ms = this.reconnectMs;
    try {
      return await this.target.accept(ms);
    } catch (err) {
      if (!this.target.alive()) throw err;
      throw new CaseFailure(
        `a new connection from the connecting peer within ${ms} ms (it reconnects after every session end and failed attempt)`,
        'no connection',
        'KKCM-SESS-14',
      );
    }
  }

  /**
   * A HELLO as the suite sends it to a listening peer: the protocol role the peer does not
   * play, and nodeId 1, what a dual-re RE0 expects from RE1 (cluster does not check it).
   */
  hello(channel: ChannelName, sessionId: bigint, extra: Partial<ControlHelloBody> = {}): ControlHelloBody {
    return {
      minVersion: PROTOCOL_VERSIONS.min,
      maxVersion: PROTOCOL_VERSIONS.max,
      role: this.suiteRoleValue,
      channel: ChannelId[channel],
      features: SUITE_FEATURES,
      nodeId: 1,
      maxMessage: Limits.defaultMaxMessage,
      sessionId,
      nodeName: 'kkcm-conformance',
      ...extra,
    };
  }

  /** A fresh non-zero session id. */
  newSessionId(): bigint {
    return randomBytes(8).readBigUInt64BE() | 1n;
  }

  /**
   * Sets a session up on both channels, on the side the peer is on.
   *
   * @throws CaseFailure when the peer does not complete the handshake as the spec says.
   */
  async session(
    options: {
      /** Largest message the suite advertises (default the spec's default). */
      maxMessage?: number;
    } = {},
  ): Promise<SuiteSession> {
    const s = this.side === 'listen' ? await this.suiteConnects(options) : await this.suiteListens(options);
    for (const need of this.needs) {
      const skip = FEATURE_SKIPS[need];
      if (skip !== undefined && (s.peerHello.features & skip.bit) === 0) {
        this.endSession(s);
        throw new CaseSkip(skip.reason);
      }
    }
    return s;
  }

  /**
   * The suite connects (the peer listens): HELLO on each channel, HELLO-ACK expected. A
   * HELLO-REJECT sessionBusy is a correct answer while the peer still holds the previous
   * session (its SHUTDOWN or close may still be on its way on the other connection, or not
   * yet handled): the suite waits retryAfterMs (at most 1 s) and tries again, within the
   * handshake timeout.
   */
  private async suiteConnects(options: { maxMessage?: number }): Promise<SuiteSession> {
    const deadline = performance.now() + this.ms(this.facts.handshakeTimeoutMs + 2000);
    for (;;) {
      const attempt = await this.sessionAttempt(options);
      if ('session' in attempt) return attempt.session;
      if (performance.now() + attempt.retryMs > deadline)
        throw new CaseFailure(
          'HELLO-ACK once the previous session is over',
          `HELLO-REJECT sessionBusy for ${Math.round(this.ms(this.facts.handshakeTimeoutMs + 2000))} ms`,
          'KKCM-SESS-6',
        );
      this.transcript.note(`sessionBusy: the previous session is still up; retrying in ${attempt.retryMs} ms`);
      await new Promise((r) => setTimeout(r, attempt.retryMs));
    }
  }

  /** One try of {@link CaseContext.suiteConnects}. */
  private async sessionAttempt(options: {
    maxMessage?: number;
  }): Promise<{ session: SuiteSession } | { retryMs: number }> {
    const id = this.newSessionId();
    const wires: Partial<Record<ChannelName, Wire>> = {};
    let ack: ControlHelloAckBody | undefined;
    for (const channel of ['send', 'receive'] as const) {
      const w = await this.connection(channel);
      w.advertise(options.maxMessage ?? Limits.defaultMaxMessage);
      w.send({
        name: 'control.hello',
        body: this.hello(channel, id, options.maxMessage !== undefined ? { maxMessage: options.maxMessage } : {}),
      });
      const r = await w.until(
        (m) => m.name === 'control.helloAck' || m.name === 'control.helloReject',
        this.expectMs,
        'HELLO-ACK',
      );
      if (r.found?.name === 'control.helloReject') {
        const body = r.found.body as { reason: number; retryAfterMs: number };
        if (body.reason === RejectReason.sessionBusy) {
          for (const x of [...Object.values(wires), w]) x.destroy();
          return { retryMs: this.ms(Math.min(Math.max(body.retryAfterMs, 50), BUSY_RETRY_CAP_MS)) };
        }
      }
      if (r.found?.name !== 'control.helloAck')
        throw new CaseFailure(
          `HELLO-ACK on the ${channel} channel`,
          describe(
            r.other ??
              (r.found !== undefined
                ? { kind: 'message', message: r.found, bytes: new Uint8Array(0) }
                : r.skipped[0]
                  ? { kind: 'message', message: r.skipped[0], bytes: new Uint8Array(0) }
                  : undefined),
          ),
        );
      ack = r.found.body as ControlHelloAckBody;
      w.bound(ack.version);
      wires[channel] = w;
    }
    return {
      session: {
        id,
        send: wires.send!,
        receive: wires.receive!,
        version: ack!.version,
        features: ack!.features & SUITE_FEATURES,
        peerMaxMessage: ack!.maxMessage,
        peerHello: ack!,
      },
    };
  }

  /** The peer connects: HELLO expected on each connection, HELLO-ACK sent with the other role. */
  private async suiteListens(options: { maxMessage?: number }): Promise<SuiteSession> {
    let wires: Partial<Record<ChannelName, Wire>> = {};
    let hello: ControlHelloBody | undefined;
    let id: bigint | undefined;
    while (wires.send === undefined || wires.receive === undefined) {
      const { wire: w, hello: h } = await this.helloConnection();
      const channel: ChannelName | undefined =
        h.channel === ChannelId.send ? 'send' : h.channel === ChannelId.receive ? 'receive' : undefined;
      if (id !== undefined && h.sessionId !== id) {
        // A connection of an attempt the peer gave up (its handshake timed out, or the
        // previous case ended it) may still wait in the accept queue: the older session is
        // stale when the peer closes its connections. Otherwise the peer broke the binding.
        const older = Object.values(wires);
        for (const o of older)
          await this.expectClosed(o, '', this.expectMs).catch(() => {
            throw new CaseFailure(
              'the same session id on both channels',
              `${id} then ${h.sessionId}, the first still open`,
              'KKCM-SESS-4',
            );
          });
        this.transcript.note(`session ${id} was abandoned by the peer; binding session ${h.sessionId}`);
        wires = {};
      }
      if (channel === undefined || wires[channel] !== undefined)
        throw new CaseFailure(
          'one HELLO per channel (send and receive)',
          `HELLO for channel ${h.channel}`,
          'KKCM-SESS-4',
        );
      id = h.sessionId;
      hello = h;
      const version = Math.min(h.maxVersion, PROTOCOL_VERSIONS.max);
      if (version < Math.max(h.minVersion, PROTOCOL_VERSIONS.min))
        throw new CaseSkip(`the peer's versions ${h.minVersion}..${h.maxVersion} do not overlap the suite's`);
      w.channel = channel;
      w.advertise(options.maxMessage ?? Limits.defaultMaxMessage);
      w.send({
        name: 'control.helloAck',
        version,
        body: {
          version,
          role: this.suiteRoleValue,
          channel: h.channel,
          features: h.features & SUITE_FEATURES,
          nodeId: 0,
          maxMessage: options.maxMessage ?? Limits.defaultMaxMessage,
          sessionId: h.sessionId,
          nodeName: 'kkcm-conformance',
        },
      });
      w.bound(version);
      wires[channel] = w;
    }
    return {
      id: id!,
      send: wires.send,
      receive: wires.receive,
      version: wires.send.version,
      features: hello!.features & SUITE_FEATURES,
      peerMaxMessage: hello!.maxMessage,
      peerHello: hello!,
    };
  }

  /**
   * A barrier: ECHO-REQUEST on `wire`, waits for the matching ECHO-REPLY; every message the
   * peer sent before it is returned. Proves the peer processed everything sent before.
   */
  async barrier(wire: Wire, what = 'ECHO-REPLY'): Promise<DecodedMessage[]> {
    const token = this.nextToken();
    wire.send({ name: 'control.echoRequest', body: { token, payload: Uint8Array.of(0x6b, 0x6b) } });
    const r = await wire.expectMessage(
      'control.echoReply',
      this.expectMs,
      (m) => (m.body as { token: number }).token === token,
    );
    if (r.found === undefined) throw new CaseFailure(what, describe(r.other));
    return r.skipped;
  }

  /** Ends a session deliberately: SHUTDOWN on both channels, then close. */
  endSession(
    s: SuiteSession,
    reason: keyof typeof CleanupReason = 'peerDown',
    detail: keyof typeof CleanupDetail = 'peerShutdown',
  ): void {
    for (const w of [s.send, s.receive]) {
      if (w.closed) continue;
      w.send({
        name: 'control.shutdown',
        body: { reason: CleanupReason[reason], detail: CleanupDetail[detail], text: 'conformance suite' },
      });
      w.end();
    }
  }

  /**
   * The connecting peer's next attempt after one the suite refused: waits for a HELLO with
   * another session id (connections of the refused attempt are closed and skipped).
   *
   * @returns the time (performance.now()) its HELLO arrived.
   * @throws CaseFailure when no new attempt comes within `ms`.
   */
  async nextAttempt(refusedSessionId: bigint, ms: number): Promise<number> {
    const deadline = performance.now() + ms;
    for (;;) {
      const left = deadline - performance.now();
      const w = await this.target.accept(Math.max(1, left)).then(
        (conn) => {
          const wire = new Wire(conn, ++this.connCount, null, this.transcript, this.onViolation, false);
          this.wires.push(wire);
          return wire;
        },
        () => undefined,
      );
      if (w === undefined) throw new CaseFailure('a new connection attempt', `none within ${ms} ms`, 'KKCM-SESS-10');
      const r = await w
        .expectMessage('control.hello', Math.max(1, deadline - performance.now()))
        .catch(() => undefined);
      if (r?.found !== undefined && r.found.body.sessionId !== refusedSessionId) {
        const at = performance.now();
        w.destroy();
        return at;
      }
      w.destroy();
    }
  }

  /**
   * Waits until the peer closed both connections of a session the suite ended: the old
   * session is over on the peer's side. TCP orders bytes within one connection, not across
   * two, so a case that opens the next session at once may reach the peer before its
   * SHUTDOWN did (and rightly be refused with sessionBusy). Messages still in flight are
   * read (and checked by the oracle); a peer that keeps the connections open breaks nothing
   * here, the next handshake then retries on sessionBusy.
   */
  async sessionOver(s: SuiteSession, ms = this.expectMs): Promise<void> {
    for (const w of [s.send, s.receive]) await this.expectClosed(w, 'the session closes', ms).catch(() => undefined);
  }

  /**
   * Waits for the peer's reaction to a violation: ERROR with one of `codes`, then a close.
   * Messages the peer legitimately sent before (replies, ACKs) are skipped.
   *
   * @throws CaseFailure naming the allowed outcomes and what happened instead.
   */
  async expectErrorAndClose(wire: Wire, codes: readonly string[], others: readonly Wire[] = []): Promise<void> {
    const expected = `ERROR ${codes.join(' or ')}, then the connection closes`;
    const r = await wire
      .expectMessage('control.error', this.expectMs)
      .catch((err: Error) => ({ found: undefined, skipped: [], other: undefined, timeout: err }));
    if (r.found === undefined) {
      const other = 'other' in r ? r.other : undefined;
      // Closing without ERROR breaks the ERROR requirement, whatever the case checks.
      throw new CaseFailure(
        expected,
        other !== undefined ? describe(other) : 'no ERROR in time',
        other?.kind === 'closed' ? 'KKCM-CTL-2' : undefined,
      );
    }
    const code = ERROR_CODES[r.found.body.code] ?? `code ${r.found.body.code}`;
    if (!codes.includes(code)) throw new CaseFailure(expected, `ERROR ${code}`);
    await this.expectClosed(wire, expected);
    for (const o of others) await this.expectClosed(o, 'the whole session closes (KKCM-SESS-7)');
  }

  /** Waits for the peer to close `wire` (messages before the close are ignored). */
  async expectClosed(wire: Wire, expected = 'the connection closes', ms = this.expectMs): Promise<void> {
    const deadline = performance.now() + ms;
    for (;;) {
      let item: Incoming;
      try {
        item = await wire.next(Math.max(0, deadline - performance.now()), 'close');
      } catch {
        throw new CaseFailure(expected, 'the connection stayed open');
      }
      if (item.kind === 'closed') return;
      if (item.kind === 'garbage') throw new CaseFailure(expected, describe(item));
    }
  }

  /**
   * Asks the peer to stop deliberately (embedded and launched peers only); the runner
   * restarts it after the case.
   *
   * @returns false when the target cannot do that.
   */
  async closePeerDeliberately(): Promise<boolean> {
    if (this.target.stopPeer === undefined) return false;
    this.transcript.note('asking the peer to stop deliberately');
    await this.target.stopPeer();
    return true;
  }

  /** Closes every connection the case opened. */
  dispose(): void {
    for (const w of this.wires) if (!w.closed) w.destroy();
  }
}
