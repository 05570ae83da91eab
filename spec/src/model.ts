/**
 * Indexed view of a validated spec: look-ups by name and by type/subtype, and the
 * normalised form that `kkcm spec --json` prints.
 *
 * @module
 */
import { fixedSize } from './load.js';
import type {
  ChannelName,
  FieldSpec,
  HandshakeSpec,
  MessageTypeSpec,
  ProtocolSpec,
  RequirementSpec,
  SubtypeSpec,
} from './types.js';

/** One message (a type and subtype pair) with everything needed to encode or decode it. */
export interface MessageInfo {
  /** Qualified name: `<type name>.<subtype name>`, e.g. `control.hello`. */
  readonly name: string;
  /** Type number (header `type`). */
  readonly type: number;
  /** Subtype number (header `subtype`). */
  readonly subtype: number;
  /** Name of the owning client. */
  readonly client: string;
  /** Channels the type travels on. */
  readonly channels: readonly ChannelName[];
  /** The type as the spec defines it. */
  readonly typeSpec: MessageTypeSpec;
  /** The subtype as the spec defines it. */
  readonly subtypeSpec: SubtypeSpec;
  /** Body layout: fields in wire order. */
  readonly fields: readonly FieldSpec[];
  /** Smallest body size in bytes (every variable part empty). */
  readonly minBodySize: number;
  /** Set on handshake messages: read in any protocol version, only before binding [KKCM-SESS-3]. */
  readonly handshake: HandshakeSpec | undefined;
}

/** A handshake message (see {@link SpecModel.handshakeMessages}). */
export interface HandshakeMessageInfo extends MessageInfo {
  /** What the handshake mark says: the fields naming the connection's channel and version. */
  readonly handshake: HandshakeSpec;
}

/** Indexed, read-only view of a spec. */
export class SpecModel {
  /** The validated spec this view indexes. */
  readonly spec: ProtocolSpec;
  /** Every message, in spec order. */
  readonly messages: readonly MessageInfo[];
  private readonly byName = new Map<string, MessageInfo>();
  private readonly byKey = new Map<number, MessageInfo>();
  private readonly types = new Map<number, MessageTypeSpec>();

  constructor(spec: ProtocolSpec) {
    this.spec = spec;
    const list: MessageInfo[] = [];
    for (const t of spec.messages) {
      this.types.set(t.type, t);
      for (const s of t.subtypes) {
        const info: MessageInfo = {
          name: `${t.name}.${s.name}`,
          type: t.type,
          subtype: s.subtype,
          client: t.client,
          channels: t.channels,
          typeSpec: t,
          subtypeSpec: s,
          fields: s.fields,
          minBodySize: this.minSize(s.fields),
          handshake: s.handshake,
        };
        list.push(info);
        this.byName.set(info.name, info);
        this.byKey.set((t.type << 8) | s.subtype, info);
      }
    }
    this.messages = list;
  }

  /** Smallest encoded size of a field list. */
  minSize(fields: readonly FieldSpec[]): number {
    let n = 0;
    for (const f of fields) n += this.minFieldSize(f);
    return n;
  }

  private minFieldSize(f: FieldSpec): number {
    const fixed = fixedSize(f.type === 'enum' ? this.enumBase(f) : f.type);
    if (fixed !== undefined) return fixed;
    if (f.type === 'reserved' || (f.type === 'bytes' && f.size !== undefined)) return f.size ?? 0;
    if (f.type === 'struct') return this.minSize(this.struct(f.struct ?? '').fields);
    return 0;
  }

  /** Base integer type of an enum field. */
  enumBase(f: FieldSpec): string {
    return this.spec.enums[f.enum ?? '']?.base ?? 'u8';
  }

  /** A struct by name. @throws Error when absent (the loader makes that impossible for a valid spec). */
  struct(name: string): {
    /** The struct's fields in wire order. */
    readonly fields: readonly FieldSpec[];
  } {
    const s = this.spec.structs[name];
    if (s === undefined) throw new Error(`unknown struct ${name}`);
    return s;
  }

  /** A message by qualified name, or undefined. */
  message(name: string): MessageInfo | undefined {
    return this.byName.get(name);
  }

  /** A message by type and subtype, or undefined. */
  lookup(type: number, subtype: number): MessageInfo | undefined {
    return this.byKey.get((type << 8) | subtype);
  }

  /**
   * The handshake messages, in spec order: each is read whatever its header version, is
   * allowed only before its connection is bound, and may name the fields that carry the
   * connection's channel and negotiated version [KKCM-SESS-3].
   */
  handshakeMessages(): readonly HandshakeMessageInfo[] {
    return this.messages.filter((m): m is HandshakeMessageInfo => m.handshake !== undefined);
  }

  /** A message type by number, or undefined. */
  messageType(type: number): MessageTypeSpec | undefined {
    return this.types.get(type);
  }

  /** Channel id by name. */
  channelId(name: ChannelName): number {
    return this.spec.channels.find((c) => c.name === name)?.id ?? 0;
  }

  /** Requirements as `{id, level, section, source, text}`. */
  requirements(): readonly RequirementSpec[] {
    return this.spec.requirements.map(({ id, level, section, source, text }) => ({ id, level, section, source, text }));
  }

  /**
   * The normalised spec: the file without `$schema`, every message listed flat with its
   * qualified name, type, subtype, client, channels and minimum body size.
   */
  normalised(): Record<string, unknown> {
    const { $schema: _schema, ...rest } = this.spec as ProtocolSpec & { $schema?: string };
    return {
      ...rest,
      messageIndex: this.messages.map((m) => ({
        name: m.name,
        label: m.subtypeSpec.label,
        type: m.type,
        subtype: m.subtype,
        client: m.client,
        channels: m.channels,
        minBodySize: m.minBodySize,
        illustrative: m.typeSpec.illustrative === true,
      })),
      requirements: this.requirements(),
    };
  }
}
