/**
 * What `kkcm demo` shows: the live view of both nodes' counters, and the line that says
 * what every client saw in a step of the scenario.
 *
 * @module
 */
import { ILLUSTRATIVE_CLIENTS } from './clients.js';
import type { DemoNode } from './demo-node.js';
import type { Io } from './io.js';

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The live view: a table redrawn in place on a terminal, plain snapshot lines otherwise. */
export class LiveView {
  private drawn = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly io: Io,
    private readonly nodes: readonly DemoNode[],
    private readonly t0: number,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => (this.io.isTty ? this.redraw() : this.snapshot()), this.io.isTty ? 100 : 1000);
    if (this.io.isTty) this.redraw();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.io.isTty) this.redraw();
    this.drawn = 0;
  }

  /** Prints a line above the table. */
  log(text: string): void {
    if (!this.io.isTty) {
      this.io.out(`${text}\n`);
      return;
    }
    this.erase();
    this.io.out(`${text}\n`);
    if (this.timer !== undefined) this.draw();
  }

  /** One plain line per node (for pipes and logs). */
  snapshot(): void {
    const at = ((Date.now() - this.t0) / 1000).toFixed(1);
    for (const n of this.nodes) {
      const c = n.counters;
      this.io.out(
        `[${at.padStart(5)}s] ${n.name} ${n.peer.role}/${n.peer.status().state} tx ${this.tx(n)} rx iha ${c.iha.messages} sdrl ${c.sdrl.messages} psrm ${c.psrm.messages} prl ${c.prl.messages} confirmed ${n.sent.confirmed}/${n.sent.confirmRequested} periodic ${c.iha.periodic} cleanups ${sum(n.peer.stats().cleanups)}\n`,
      );
    }
  }

  private tx(n: DemoNode): number {
    const s = n.peer.stats();
    return s.channels.send.txMessages + s.channels.receive.txMessages;
  }

  private lines(): string[] {
    const at = ((Date.now() - this.t0) / 1000).toFixed(1);
    const head = `  ${'node'.padEnd(5)}${'role'.padEnd(8)}${'state'.padEnd(12)}${'tx'.padStart(7)}${'iha'.padStart(6)}${'sdrl'.padStart(7)}${'psrm'.padStart(7)}${'prl'.padStart(7)}${'confirmed'.padStart(12)}${'periodic'.padStart(10)}${'cleanups'.padStart(10)}   t=${at}s`;
    const rows = this.nodes.map((n) => {
      const c = n.counters;
      const confirmed = `${n.sent.confirmed}/${n.sent.confirmRequested}`;
      return `  ${n.name.padEnd(5)}${n.peer.role.padEnd(8)}${n.peer.status().state.padEnd(12)}${String(this.tx(n)).padStart(7)}${String(c.iha.messages).padStart(6)}${String(c.sdrl.messages).padStart(7)}${String(c.psrm.messages).padStart(7)}${String(c.prl.messages).padStart(7)}${confirmed.padStart(12)}${String(c.iha.periodic).padStart(10)}${String(sum(n.peer.stats().cleanups)).padStart(10)}`;
    });
    return [head, ...rows];
  }

  private erase(): void {
    // Cursor up to the table's first line, then clear to the end of the screen.
    if (this.drawn > 0) this.io.out(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    const lines = this.lines();
    this.io.out(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private redraw(): void {
    this.erase();
    this.draw();
  }
}

/** `iha, sdrl, psrm, prl: switchover (manualSwitchover)`, grouping clients that saw the same. */
export function describeStep(node: DemoNode): string {
  const groups = new Map<string, string[]>();
  for (const client of ILLUSTRATIVE_CLIENTS) {
    const seen = node.step[client] ?? 'no cleanup';
    groups.set(seen, [...(groups.get(seen) ?? []), client]);
  }
  return [...groups].map(([seen, clients]) => `${clients.join(', ')}: ${seen}`).join('; ');
}
