/**
 * The pcapng file format, block by block (draft-ietf-opsawg-pcapng): the Section Header,
 * Interface Description, Enhanced Packet and Interface Statistics blocks the KKCM trace
 * writes, and their options. Little-endian throughout, as the SHB's byte-order magic says.
 * Knows nothing of TCP or KKCM: the packets it wraps come from pcapng-tcp.ts.
 *
 * @module
 */

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_ISB = 0x00000005;
const BT_EPB = 0x00000006;
/** `opt_comment`, in every block type. */
export const OPT_COMMENT = 1;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

const utf8 = new TextEncoder();
export const pad4 = (n: number): number => (n + 3) & ~3;

/** One block option: its code and value (padded to 4 bytes when written). */
export interface BlockOption {
  readonly code: number;
  readonly value: Uint8Array;
}

export const u32Option = (code: number, value: number): BlockOption => {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, value, true);
  return { code, value: v };
};
const u64Option = (code: number, value: bigint): BlockOption => {
  const v = new Uint8Array(8);
  new DataView(v.buffer).setBigUint64(0, value, true);
  return { code, value: v };
};
const tsOption = (code: number, us: bigint): BlockOption => {
  const v = new Uint8Array(8);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, Number((us >> 32n) & 0xffffffffn), true);
  dv.setUint32(4, Number(us & 0xffffffffn), true);
  return { code, value: v };
};
export const textOption = (code: number, text: string): BlockOption => ({ code, value: utf8.encode(text) });

const optionsSize = (options: readonly BlockOption[]): number =>
  options.length === 0 ? 0 : options.reduce((n, o) => n + 4 + pad4(o.value.byteLength), 4);

/**
 * Allocates a block of `bodySize` bytes of fixed fields plus options, writes the type, both
 * lengths and the options (little-endian, announced by the SHB's byte-order magic), and
 * returns it with a view; the caller fills the body from offset 8.
 */
export function block(
  type: number,
  bodySize: number,
  options: readonly BlockOption[],
): { bytes: Uint8Array; view: DataView } {
  const total = 8 + bodySize + optionsSize(options) + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  let at = 8 + bodySize;
  for (const o of options) {
    view.setUint16(at, o.code, true);
    view.setUint16(at + 2, o.value.byteLength, true);
    bytes.set(o.value, at + 4);
    at += 4 + pad4(o.value.byteLength);
  }
  // opt_endofopt is the four zero bytes already there.
  view.setUint32(total - 4, total, true);
  return { bytes, view };
}

/** The Section Header Block, with `text` as its comment. */
export function sectionHeader(text: string): Uint8Array {
  const { bytes, view } = block(BT_SHB, 16, [
    textOption(OPT_COMMENT, text),
    textOption(4 /* shb_userappl */, 'kkcm reference peer'),
  ]);
  view.setUint32(8, 0x1a2b3c4d, true);
  view.setUint16(12, 1, true);
  view.setUint16(14, 0, true);
  view.setBigInt64(16, -1n, true); // section length not given
  return bytes;
}

/** The one Interface Description Block: Ethernet, microsecond timestamps. */
export function interfaceDescription(): Uint8Array {
  const { bytes, view } = block(BT_IDB, 8, [
    textOption(2 /* if_name */, 'kkcm'),
    textOption(3 /* if_description */, 'synthetic: KKCM messages as TCP segments between master and backup'),
  ]);
  view.setUint16(8, LINKTYPE_ETHERNET, true);
  view.setUint32(12, SNAPLEN, true);
  return bytes;
}

/** The Interface Statistics Block that ends a file: messages seen and dropped at `us`. */
export function interfaceStatistics(us: bigint, seen: number, dropped: number): Uint8Array {
  const { bytes, view } = block(BT_ISB, 12, [
    textOption(
      OPT_COMMENT,
      `kkcm: ${seen} messages traced, ${dropped} dropped because the trace file could not keep up (counts are messages, not segments)`,
    ),
    tsOption(3 /* isb_endtime */, us),
    u64Option(4 /* isb_ifrecv */, BigInt(seen)),
    u64Option(5 /* isb_ifdrop */, BigInt(dropped)),
  ]);
  view.setUint32(8, 0, true);
  view.setUint32(12, Number((us >> 32n) & 0xffffffffn), true);
  view.setUint32(16, Number(us & 0xffffffffn), true);
  return bytes;
}

/**
 * An Enhanced Packet Block for `captured` bytes of packet at `us` (microseconds), on the
 * one interface; the caller writes the packet from offset {@link EPB_DATA}.
 */
export function enhancedPacket(
  us: bigint,
  captured: number,
  outbound: boolean,
  comment: string | undefined,
): { bytes: Uint8Array; view: DataView } {
  const options: BlockOption[] = [u32Option(2 /* epb_flags */, outbound ? 2 /* outbound */ : 1 /* inbound */)];
  if (comment !== undefined) options.push(textOption(OPT_COMMENT, comment));
  const { bytes, view } = block(BT_EPB, 20 + pad4(captured), options);
  view.setUint32(8, 0, true);
  view.setUint32(12, Number((us >> 32n) & 0xffffffffn), true);
  view.setUint32(16, Number(us & 0xffffffffn), true);
  view.setUint32(20, captured, true);
  view.setUint32(24, captured, true);
  return { bytes, view };
}

/** Offset of the packet data in an Enhanced Packet Block. */
export const EPB_DATA = 28;
