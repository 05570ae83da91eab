/**
 * Deliberate faults of the reference peer, for the conformance suite's self-test (mutant
 * peers, `conformance/mutants/`) and for chaos testing.
 *
 * Each switch breaks exactly one requirement of the spec, at the one place in the peer
 * where that requirement is implemented. They exist only to prove that the conformance
 * suite catches a broken peer. **Never set them in production**: a peer with any of them
 * set does not conform to the protocol.
 *
 * @module
 */

/**
 * Fault switches of a {@link KkcmPeer} (`PeerOptions.faults`). All default to off.
 * For the conformance suite's self-test and chaos testing only: never set in production.
 */
export interface PeerFaults {
  /**
   * Accept every HELLO, whatever its version range, with our highest version even when
   * the ranges do not overlap. Breaks [KKCM-SESS-2] and [KKCM-SESS-3].
   */
  readonly ignoreVersionRanges?: boolean;
  /**
   * Do not enforce the static channel mapping on input: a message that arrived on a
   * channel its type does not travel on is dispatched. Breaks [KKCM-CHAN-2].
   */
  readonly acceptWrongChannel?: boolean;
  /**
   * Accept a HELLO for a second session while one is up. Breaks [KKCM-SESS-6].
   */
  readonly acceptSecondSession?: boolean;
  /**
   * Clean up with socketIoError whatever reason the other side's SHUTDOWN carries.
   * Breaks [KKCM-CLN-2].
   */
  readonly ignoreShutdownReason?: boolean;
  /**
   * Never call the clients' periodic handlers (the conformance probe still reports the
   * configured interval). Breaks [KKCM-PER-1].
   */
  readonly periodicNeverFires?: boolean;
  /**
   * Call the periodic handlers at this multiple of the configured interval (2: twice too
   * slow, 0.1: ten times too fast) while the probe reports the configured one. Breaks [KKCM-PER-1].
   */
  readonly periodicScale?: number;
  /**
   * Clean up with the reason of a received SHUTDOWN but detail peerShutdown, whatever detail
   * it carries. Breaks [KKCM-CLN-2].
   */
  readonly ignoreShutdownDetail?: boolean;
  /**
   * Keep a session whose second channel never comes: no session timer, the bound channel
   * stays open. Breaks [KKCM-SESS-12].
   */
  readonly keepHalfBoundSession?: boolean;
  /**
   * Decode every client body (IHA, SDRL, PSRM, PRL, probe) against the spec's illustrative
   * layout before dispatch, and treat one that does not fit (or an unlisted subtype) as a
   * protocol error. Breaks [KKCM-DISP-3].
   */
  readonly validateClientBodies?: boolean;
  /**
   * Confirm a message its client handler refused with ACK, as if it had been accepted,
   * instead of NACK ERR_HANDLER_FAILED. Breaks [KKCM-CTL-4].
   */
  readonly ackRefusedMessages?: boolean;
  /**
   * Treat a client handler's refusal as a protocol error: ERROR ERR_HANDLER_FAILED naming the
   * message, and the session ends. Breaks [KKCM-DISP-3].
   */
  readonly refusalEndsSession?: boolean;
  /**
   * Start no new attempt after a session lost without SHUTDOWN (a connection closed or
   * failed); after a SHUTDOWN it still reconnects. Breaks [KKCM-SESS-14].
   */
  readonly noReconnectAfterLoss?: boolean;
}
