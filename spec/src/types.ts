/**
 * TypeScript shape of a kkcm spec file, as checked by `kkcm.spec.schema.json`.
 *
 * @module
 */

/** Integer field types of the body layout language. 64-bit values are `bigint`. */
export type IntegerType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';

/** Every field type of the body layout language. */
export type FieldType = IntegerType | 'enum' | 'bytes' | 'string' | 'ipv4' | 'ipv6' | 'reserved' | 'array' | 'struct';

/** A derived field: filled in on encode, checked on decode, absent from decoded values. */
export interface Derived {
  /** Byte length of the named bytes or string field. */
  readonly lengthOf?: string;
  /** Item count of the named array field. */
  readonly countOf?: string;
}

/** One field of a body layout or struct. */
export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly doc: string;
  /** Unsigned integers only: this field is a length or count of a later field. */
  readonly derived?: Derived;
  /** `enum`: name of an entry of {@link ProtocolSpec.enums}. */
  readonly enum?: string;
  /** `reserved`: byte size; `bytes`: fixed byte size. */
  readonly size?: number;
  /** `bytes` and `string`: name of the earlier derived field holding the byte length. */
  readonly length?: string;
  /** `bytes`: the field takes every remaining byte of the body (must be last). */
  readonly rest?: true;
  /** `array`: name of the earlier derived field holding the item count. */
  readonly count?: string;
  /** `array`: name of the struct each item is. */
  readonly items?: string;
  /** `struct`: name of the nested struct. */
  readonly struct?: string;
}

/** A named value of an enum. */
export interface EnumValueSpec {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
}

/** An enum: unknown values decode as plain numbers and are never rejected. */
export interface EnumSpec {
  readonly base: 'u8' | 'u16' | 'u32';
  readonly doc: string;
  readonly values: readonly EnumValueSpec[];
}

/** A struct usable as a nested field or array item. */
export interface StructSpec {
  readonly doc: string;
  readonly fields: readonly FieldSpec[];
}

/** One subtype of a message type, with its body layout. */
export interface SubtypeSpec {
  readonly subtype: number;
  readonly name: string;
  readonly label: string;
  readonly doc: string;
  readonly fields: readonly FieldSpec[];
}

/** Channel names. */
export type ChannelName = 'send' | 'receive';

/** One message type: owning client, channels, subtypes. */
export interface MessageTypeSpec {
  readonly type: number;
  readonly client: string;
  readonly name: string;
  readonly channels: readonly ChannelName[];
  readonly illustrative?: boolean;
  readonly doc: string;
  readonly subtypes: readonly SubtypeSpec[];
}

/** A header field. */
export interface HeaderFieldSpec {
  readonly name: string;
  readonly type: IntegerType;
  readonly doc: string;
}

/** A flag bit of the header. */
export interface FlagSpec {
  readonly name: string;
  readonly bit: number;
  readonly mask: number;
  readonly doc: string;
}

/** A channel. */
export interface ChannelSpec {
  readonly name: ChannelName;
  readonly id: number;
  readonly doc: string;
}

/** A KKCM client. */
export interface ClientSpec {
  readonly name: string;
  readonly id: number;
  readonly label: string;
  readonly doc: string;
}

/** A feature bit negotiated in HELLO. */
export interface FeatureSpec {
  readonly name: string;
  readonly bit: number;
  readonly doc: string;
}

/** An error code. Codes are append-only: never renumbered or reused. */
export interface ErrorSpec {
  readonly code: string;
  readonly value: number;
  /** Whether the code may travel in an ERROR message. */
  readonly wire: boolean;
  readonly doc: string;
}

/** A limit or timer value. */
export interface QuantitySpec {
  readonly value: number;
  readonly unit: 'bytes' | 'messages' | 'ms' | 'factor' | 'fraction';
  readonly doc: string;
}

/** Requirement level, as in RFC 2119. */
export type RequirementLevel = 'MUST' | 'SHOULD' | 'MAY';

/** A numbered requirement. */
export interface RequirementSpec {
  readonly id: string;
  readonly level: RequirementLevel;
  readonly section: string;
  readonly text: string;
}

/** Session state machine and rules. */
export interface SessionSpec {
  readonly states: readonly { readonly name: string; readonly doc: string }[];
  readonly transitions: readonly { readonly from: string; readonly to: string; readonly on: string }[];
  readonly rules: readonly string[];
}

/** A whole kkcm spec file. */
export interface ProtocolSpec {
  readonly name: string;
  readonly specVersion: string;
  readonly summary?: string;
  readonly byteOrder: 'big-endian';
  readonly protocolVersions: { readonly min: number; readonly max: number; readonly current: number };
  readonly defaultPort: number;
  readonly header: { readonly size: number; readonly magic: number; readonly fields: readonly HeaderFieldSpec[] };
  readonly flags: readonly FlagSpec[];
  readonly channels: readonly ChannelSpec[];
  readonly clients: readonly ClientSpec[];
  readonly enums: Readonly<Record<string, EnumSpec>>;
  readonly features: readonly FeatureSpec[];
  readonly structs: Readonly<Record<string, StructSpec>>;
  readonly messages: readonly MessageTypeSpec[];
  readonly errors: readonly ErrorSpec[];
  readonly limits: Readonly<Record<string, QuantitySpec>>;
  readonly timers: Readonly<Record<string, QuantitySpec>>;
  readonly session: SessionSpec;
  readonly requirements: readonly RequirementSpec[];
}
