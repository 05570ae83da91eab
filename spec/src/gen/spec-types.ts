// Generated from spec/kkcm.spec.schema.json by codec/tools/schema-types.ts (npm run generate).
// Do not edit: change the schema and regenerate.

/**
 * Integer field types of the body layout language. 64-bit values are `bigint`.
 */
export type IntegerType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';
/**
 * Channel names.
 */
export type ChannelName = 'send' | 'receive';
/**
 * Every field type of the body layout language.
 */
export type FieldType = IntegerType | ('enum' | 'bytes' | 'string' | 'ipv4' | 'ipv6' | 'reserved' | 'array' | 'struct');
/**
 * Requirement level, as in RFC 2119: MUST, SHOULD or MAY.
 */
export type RequirementLevel = 'MUST' | 'SHOULD' | 'MAY';
/**
 * Schema of a kkcm spec file: the JSR IPC protocol as data. Enforced with ajv on every load.
 */
export interface ProtocolSpec {
  /**
   * Optional pointer back to this schema.
   */
  readonly $schema?: string;
  /**
   * Protocol name.
   */
  readonly name: string;
  /**
   * Version of this spec document (semver), not the protocol version.
   */
  readonly specVersion: string;
  /**
   * One-paragraph description of the protocol.
   */
  readonly summary?: string;
  /**
   * Byte order of every integer on the wire.
   */
  readonly byteOrder: 'big-endian';
  /**
   * Protocol versions this spec defines.
   */
  readonly protocolVersions: {
    /**
     * Lowest version.
     */
    readonly min: number;
    /**
     * Highest version.
     */
    readonly max: number;
    /**
     * Version implementations of this spec write by default.
     */
    readonly current: number;
  };
  /**
   * TCP port the master listens on unless configured otherwise.
   */
  readonly defaultPort: number;
  /**
   * The fixed header every message starts with.
   */
  readonly header: {
    /**
     * Header size in bytes; a multiple of 4.
     */
    readonly size: number;
    /**
     * Value of the magic field.
     */
    readonly magic: number;
    /**
     * Header fields in wire order.
     */
    readonly fields: readonly HeaderFieldSpec[];
  };
  /**
   * Header flag bits.
   */
  readonly flags: readonly FlagSpec[];
  /**
   * The two channels.
   */
  readonly channels: readonly ChannelSpec[];
  /**
   * KKCM clients, the module itself included.
   */
  readonly clients: readonly ClientSpec[];
  /**
   * Enums by name.
   */
  readonly enums: {
    readonly [k: string]: EnumSpec;
  };
  /**
   * Feature bits negotiated in HELLO and HELLO-ACK.
   */
  readonly features: readonly FeatureSpec[];
  /**
   * Structs by name, for nested fields and array items.
   */
  readonly structs: {
    readonly [k: string]: StructSpec;
  };
  /**
   * Message types, each with its subtypes.
   */
  readonly messages: readonly MessageTypeSpec[];
  /**
   * Error codes; append-only.
   */
  readonly errors: readonly ErrorSpec[];
  /**
   * Limits by name (sizes and counts).
   */
  readonly limits: {
    readonly [k: string]: QuantitySpec;
  };
  /**
   * Timer defaults by name.
   */
  readonly timers: {
    readonly [k: string]: QuantitySpec;
  };
  /**
   * Session state machine and rules.
   */
  readonly session: SessionSpec;
  /**
   * Numbered requirements.
   */
  readonly requirements: readonly RequirementSpec[];
}
/**
 * A flag bit of the header.
 */
export interface FlagSpec {
  /**
   * Flag name (`mayIgnore`).
   */
  readonly name: string;
  /**
   * Bit number, 0 being the least significant.
   */
  readonly bit: number;
  /**
   * Mask: `1 << bit`.
   */
  readonly mask: number;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the flag asks of the receiver.
   */
  readonly doc: string;
}
/**
 * A channel.
 */
export interface ChannelSpec {
  /**
   * Channel name.
   */
  readonly name: ChannelName;
  /**
   * Channel id, as carried in HELLO.
   */
  readonly id: number;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What travels on the channel.
   */
  readonly doc: string;
}
/**
 * A KKCM client.
 */
export interface ClientSpec {
  /**
   * Client name (`prl`).
   */
  readonly name: string;
  /**
   * Client id (as `jsr_kkcm_client_type_t`, design 7.1).
   */
  readonly id: number;
  /**
   * The name the design document gives this item (its C identifier, e.g. JSR_CLEANUP_SWITCHOVER in jsr_cleanup_reason_t, design 7.1). Absent when the item is a kkcm addition.
   */
  readonly designName?: string;
  /**
   * Name used in prose (`PRL`).
   */
  readonly label: string;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the client is.
   */
  readonly doc: string;
}
/**
 * An enum: unknown values decode as plain numbers and are never rejected.
 */
export interface EnumSpec {
  /**
   * Integer type the enum is carried in.
   */
  readonly base: 'u8' | 'u16' | 'u32';
  /**
   * What the enum is for.
   */
  readonly doc: string;
  /**
   * Known values; append-only.
   */
  readonly values: readonly EnumValueSpec[];
}
/**
 * A named value of an enum.
 */
export interface EnumValueSpec {
  /**
   * Value name: what decoders return for a known value.
   */
  readonly name: string;
  /**
   * Numeric value on the wire.
   */
  readonly value: number;
  /**
   * The name the design document gives this item (its C identifier, e.g. JSR_CLEANUP_SWITCHOVER in jsr_cleanup_reason_t, design 7.1). Absent when the item is a kkcm addition.
   */
  readonly designName?: string;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the value means.
   */
  readonly doc: string;
}
/**
 * A feature bit negotiated in HELLO.
 */
export interface FeatureSpec {
  /**
   * Feature name (`deliveryAck`).
   */
  readonly name: string;
  /**
   * Bit number in the `features` field, 0 being the least significant.
   */
  readonly bit: number;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What a peer that advertises the feature does.
   */
  readonly doc: string;
}
/**
 * A struct usable as a nested field or array item.
 */
export interface StructSpec {
  /**
   * What the struct holds.
   */
  readonly doc: string;
  /**
   * Fields in wire order.
   */
  readonly fields: readonly FieldSpec[];
}
/**
 * One message type: owning client, channels, subtypes.
 */
export interface MessageTypeSpec {
  /**
   * Type number (header `type`).
   */
  readonly type: number;
  /**
   * Name of the owning client (an entry of `clients`).
   */
  readonly client: string;
  /**
   * Type name: the first half of the qualified name (`control` in `control.hello`).
   */
  readonly name: string;
  /**
   * Channels this type travels on (static mapping, design 8.4).
   */
  readonly channels: readonly ChannelName[];
  /**
   * True when the bodies are a documented example set, not the real (unpublished) formats.
   */
  readonly illustrative?: boolean;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the type is for.
   */
  readonly doc: string;
  /**
   * The subtypes, each with its body layout.
   */
  readonly subtypes: readonly SubtypeSpec[];
}
/**
 * One subtype of a message type, with its body layout.
 */
export interface SubtypeSpec {
  /**
   * Subtype number (header `subtype`), unique within the type.
   */
  readonly subtype: number;
  /**
   * Subtype name: the second half of the qualified name (`hello` in `control.hello`).
   */
  readonly name: string;
  /**
   * Upper-case label used in prose and traces (`HELLO-ACK`).
   */
  readonly label: string;
  /**
   * Present on handshake messages (HELLO and its answers).
   */
  readonly handshake?: HandshakeSpec;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the message is for.
   */
  readonly doc: string;
  /**
   * Body layout: fields in wire order.
   */
  readonly fields: readonly FieldSpec[];
}
/**
 * An error code. Codes are append-only: never renumbered or reused.
 */
export interface ErrorSpec {
  /**
   * Stable string code (`ERR_BAD_MAGIC`).
   */
  readonly code: string;
  /**
   * Numeric value, as carried in ERROR and NACK; never renumbered or reused.
   */
  readonly value: number;
  /**
   * Whether the code may travel in an ERROR message.
   */
  readonly wire: boolean;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * When the error happens.
   */
  readonly doc: string;
}
/**
 * A numbered requirement.
 */
export interface RequirementSpec {
  /**
   * Stable id (`KKCM-SESS-3`); never reused.
   */
  readonly id: string;
  /**
   * Requirement level, as in RFC 2119: MUST, SHOULD or MAY.
   */
  readonly level: RequirementLevel;
  /**
   * Section of the spec the requirement belongs to (`session`).
   */
  readonly section: string;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * The requirement itself.
   */
  readonly text: string;
}
/**
 * A header field.
 */
export interface HeaderFieldSpec {
  /**
   * Field name.
   */
  readonly name: string;
  /**
   * Integer type.
   */
  readonly type: IntegerType;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the field means.
   */
  readonly doc: string;
}
/**
 * A derived field: filled in on encode, checked on decode, absent from decoded values.
 */
export interface Derived {
  /**
   * Byte length of the named bytes or string field.
   */
  readonly lengthOf?: string;
  /**
   * Item count of the named array field.
   */
  readonly countOf?: string;
}
/**
 * One field of a body layout or struct. Which of the optional properties a field may have depends on its type (the `allOf` below).
 */
export interface FieldSpec {
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * Field name: the property name in decoded bodies (camelCase).
   */
  readonly name: string;
  /**
   * Every field type of the body layout language.
   */
  readonly type: FieldType;
  /**
   * What the field means: units, ranges, the design section.
   */
  readonly doc: string;
  /**
   * Unsigned integers only: this field is a length or count of a later field.
   */
  readonly derived?: Derived;
  /**
   * `enum`: name of an entry of `enums`.
   */
  readonly enum?: string;
  /**
   * `reserved`: byte size; `bytes`: fixed byte size.
   */
  readonly size?: number;
  /**
   * `bytes` and `string`: name of the earlier derived field holding the byte length.
   */
  readonly length?: string;
  /**
   * `bytes`: the field takes every remaining byte of the body (must be last).
   */
  readonly rest?: true;
  /**
   * `array`: name of the earlier derived field holding the item count.
   */
  readonly count?: string;
  /**
   * `array`: name of the struct each item is.
   */
  readonly items?: string;
  /**
   * `struct`: name of the nested struct.
   */
  readonly struct?: string;
}
/**
 * Marks a handshake message: sent only before its connection is bound, it keeps one layout in every protocol version and is read whatever its header version [KKCM-SESS-3]. channelField names the body field (an enum of channel) that says which channel the connection carries; versionField the u8 body field carrying the negotiated version, which every later header carries [KKCM-HDR-4].
 */
export interface HandshakeSpec {
  /**
   * Body field (an enum of `channel`) naming the channel the connection carries.
   */
  readonly channelField?: string;
  /**
   * Body field (`u8`) carrying the negotiated version, which every later header carries [KKCM-HDR-4].
   */
  readonly versionField?: string;
}
/**
 * A limit or timer value.
 */
export interface QuantitySpec {
  /**
   * The value, in `unit`.
   */
  readonly value: number;
  /**
   * Unit of `value`.
   */
  readonly unit: 'bytes' | 'messages' | 'ms' | 'factor' | 'fraction';
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
  /**
   * What the quantity bounds or times.
   */
  readonly doc: string;
}
/**
 * Session state machine and rules.
 */
export interface SessionSpec {
  /**
   * The states of one session, first the initial one.
   */
  readonly states: readonly {
    /**
     * State name (`idle`, `up`…).
     */
    readonly name: string;
    /**
     * What holds in this state.
     */
    readonly doc: string;
    /**
     * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
     */
    readonly source: string;
  }[];
  /**
   * The transitions between states.
   */
  readonly transitions: readonly {
    /**
     * State left.
     */
    readonly from: string;
    /**
     * State entered.
     */
    readonly to: string;
    /**
     * What causes the transition.
     */
    readonly on: string;
    /**
     * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
     */
    readonly source: string;
  }[];
  /**
   * Session rules in prose (design 7.2.b and the sections the requirements cite).
   */
  readonly rules: readonly SessionRule[];
  /**
   * Who listens (design 7.2.b.2): one entry per deployment, with the rule and what HELLO carries to check it.
   */
  readonly topologies: readonly TopologySpec[];
}
/**
 * One session rule and where it comes from.
 */
export interface SessionRule {
  /**
   * The rule, in prose.
   */
  readonly text: string;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
}
/**
 * A deployment and its rule for who listens (design 7.2.b.2).
 */
export interface TopologySpec {
  /**
   * Identifier (`dualRe`).
   */
  readonly name: string;
  /**
   * Name used on the command line and in prose (`dual-re`).
   */
  readonly label: string;
  /**
   * Who listens: the RE in slot 0 (slot0) or the protocol master (master).
   */
  readonly listener: 'slot0' | 'master';
  /**
   * The rule and what a switchover does to it.
   */
  readonly doc: string;
  /**
   * What HELLO carries to check the rule, and who checks it.
   */
  readonly hello: string;
  /**
   * Where the item comes from: a section of the design (kkcm_design.txt), as "design 7.2.b.2" or "design 6.1.a, 8.4 (...)", or "kkcm addition: " and a one-line reason for something the design does not speak of.
   */
  readonly source: string;
}
