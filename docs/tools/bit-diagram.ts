/**
 * RFC-style bit diagrams: the classic 32-bit-wide `0 1 2 3` ruler and `+-+-+` boxes, one
 * box per field, fields that span rows left open between them, variable-length fields drawn
 * as a row with `:` sides.
 *
 * @module
 */

/** Bits per diagram row. */
export const ROW_BITS = 32;

/** Characters per diagram line: one edge plus two per bit. */
export const LINE_WIDTH = 2 * ROW_BITS + 1;

/** One field to draw: a fixed number of bits, or a variable length with a description. */
export interface DiagramField {
  /** Name drawn in the field's box. */
  readonly label: string;
  /** Width in bits of a fixed-size field; absent for a variable-length one. */
  readonly bits?: number;
  /** A variable-length field's size in words (`nodeNameLength bytes`). */
  readonly variable?: string;
}

/** A run of one field's bits inside a row. */
export interface DiagramCell {
  /** Index of the field in the list given to {@link layoutRows}. */
  readonly field: number;
  /** Width in bits. */
  readonly bits: number;
}

/** One row of a diagram. */
export interface DiagramRow {
  /** Cells left to right; their widths add up to {@link ROW_BITS}, except in a last, partial row. */
  readonly cells: readonly DiagramCell[];
  /** A row standing for a variable number of bytes (drawn with `:` sides). */
  readonly variable: boolean;
}

/**
 * Lays fields out in 32-bit rows. A fixed field continues on the next row when it does not
 * fit; a variable field fills the rest of its row and then takes one variable row of its
 * own, after which the next field starts on a fresh row.
 */
export function layoutRows(fields: readonly DiagramField[]): DiagramRow[] {
  const rows: DiagramRow[] = [];
  let cells: DiagramCell[] = [];
  let pos = 0;
  const closeRow = (): void => {
    rows.push({ cells, variable: false });
    cells = [];
    pos = 0;
  };
  fields.forEach((f, field) => {
    if (f.bits === undefined) {
      if (pos > 0) {
        cells.push({ field, bits: ROW_BITS - pos });
        closeRow();
      }
      rows.push({ cells: [{ field, bits: ROW_BITS }], variable: true });
      return;
    }
    let left = f.bits;
    while (left > 0) {
      const take = Math.min(left, ROW_BITS - pos);
      cells.push({ field, bits: take });
      pos += take;
      left -= take;
      if (pos === ROW_BITS) closeRow();
    }
  });
  if (cells.length > 0) rows.push({ cells, variable: false });
  return rows;
}

/** The two ruler lines: tens of bits, then units. */
export function ruler(): string[] {
  let tens = ' ';
  let units = ' ';
  for (let i = 0; i < ROW_BITS; i++) {
    tens += `${i % 10 === 0 ? String(i / 10) : ' '} `;
    units += `${i % 10} `;
  }
  return [tens.trimEnd(), units.trimEnd()];
}

/** Owner field index of each bit of a row, -1 where the row has ended. */
function owners(row: DiagramRow | undefined): number[] {
  const out = new Array<number>(ROW_BITS).fill(-1);
  if (row === undefined) return out;
  let i = 0;
  for (const c of row.cells) for (let k = 0; k < c.bits; k++) out[i++] = c.field;
  return out;
}

/** Whether a row has a vertical line at bit boundary `j` (0…32). */
function hasEdge(own: readonly number[], j: number): boolean {
  const left = j > 0 ? own[j - 1]! : -1;
  const right = j < ROW_BITS ? own[j]! : -1;
  return left !== right;
}

/** The border line between two rows (either may be absent: top or bottom of the diagram). */
function border(above: readonly number[], below: readonly number[]): string {
  const chars: string[] = [];
  const dash = (i: number): boolean => (above[i]! !== -1 || below[i]! !== -1) && above[i] !== below[i];
  for (let j = 0; j <= ROW_BITS; j++) {
    const plus = (j > 0 && dash(j - 1)) || (j < ROW_BITS && dash(j)) || hasEdge(above, j) || hasEdge(below, j);
    chars.push(plus ? '+' : ' ');
    if (j < ROW_BITS) chars.push(dash(j) ? '-' : ' ');
  }
  return chars.join('').trimEnd();
}

function centre(text: string, width: number): string {
  const pad = width - text.length;
  const left = Math.floor(pad / 2);
  return ' '.repeat(left) + text + ' '.repeat(pad - left);
}

/** A drawn diagram and the footnotes for labels too long for their box. */
export interface RenderedDiagram {
  /** The diagram's lines, ruler included, without trailing spaces. */
  readonly lines: readonly string[];
  /** `*1 offendingSubtype` lines for labels that did not fit. */
  readonly notes: readonly string[];
}

/**
 * Draws fields as an RFC-style diagram. A field's label goes in its widest box (the first
 * one on a tie); a variable field's row says how long it is.
 */
export function renderDiagram(fields: readonly DiagramField[]): RenderedDiagram {
  const rows = layoutRows(fields);
  const notes: string[] = [];
  // The box that carries each field's label: its widest non-variable cell, else its variable row.
  const labelAt = new Map<number, { row: number; cell: number }>();
  rows.forEach((row, r) => {
    if (row.variable) return;
    row.cells.forEach((c, k) => {
      const best = labelAt.get(c.field);
      if (best === undefined || rows[best.row]!.cells[best.cell]!.bits < c.bits)
        labelAt.set(c.field, { row: r, cell: k });
    });
  });
  const fit = (label: string, width: number): string => {
    if (label.length <= width) return label;
    const key = `*${notes.length + 1}`;
    notes.push(`${key} ${label}`);
    return key;
  };
  const lines = [...ruler()];
  let prev = owners(undefined);
  rows.forEach((row, r) => {
    const own = owners(row);
    lines.push(border(prev, own));
    if (row.variable) {
      const f = fields[row.cells[0]!.field]!;
      lines.push(`:${centre(fit(`${f.label} (${f.variable ?? 'variable'})`, LINE_WIDTH - 2), LINE_WIDTH - 2)}:`);
    } else {
      let line = '|';
      row.cells.forEach((c, k) => {
        const at = labelAt.get(c.field);
        const width = 2 * c.bits - 1;
        const text = at !== undefined && at.row === r && at.cell === k ? fit(fields[c.field]!.label, width) : '';
        line += `${centre(text, width)}|`;
      });
      lines.push(line);
    }
    prev = own;
  });
  lines.push(border(prev, owners(undefined)));
  return { lines: lines.map((l) => l.trimEnd()), notes };
}
