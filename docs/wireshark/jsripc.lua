-- Generated from spec/kkcm.spec.json (JSR IPC over KKCM, spec 1.0.0) by docs/tools/dissector.ts. Do not edit: run `npm run dissector`.
--
-- Wireshark dissector for JSR IPC over KKCM (protocol filter name "jsripc").
--   tshark -X lua_script:docs/wireshark/jsripc.lua -r capture.pcapng -Y jsripc
--   or copy this file into Wireshark's personal Lua plugins folder.
-- TCP port 7000 (preference jsripc.tcp_port), and any port by the magic (heuristic).
-- Longest message: preference jsripc.max_message (default 262144 bytes, as a receiver with default settings).
-- Messages split across segments are reassembled; several in one segment are split.
-- Protocol errors are expert infos named after the spec's codes (jsripc.expert.bad_magic, ...).
-- Client bodies are opaque to KKCM: one that does not fit its illustrative layout (or of a
-- subtype the spec does not list) is shown as raw bytes with a note, jsripc.expert.illustrative_misfit.
--
-- Fields: jsripc.<header field> (jsripc.type, jsripc.seq, ...), jsripc.flags.<flag>,
-- jsripc.msg (qualified name, e.g. control.hello), jsripc.channel (the stream's channel),
-- jsripc.body, and every body field as jsripc.<type>.<subtype>.<field>[.<member>],
-- e.g. jsripc.control.hello.nodeName, jsripc.psrm.stateBatch.entries.handle.

local jsripc = Proto("jsripc", "JSR IPC (KKCM)")

local MAGIC = 0x4B4B434D
local HEADER_SIZE = 16
local VERSION_MIN, VERSION_MAX = 1, 1
local DEFAULT_PORT = 7000
local DEFAULT_MAX_MESSAGE = 262144
local MAY_IGNORE_BIT = 0
local KNOWN_FLAG_BITS = { [0] = true, [1] = true }
local CHANNELS = { [1] = "send", [2] = "receive" }

local HDR = { magic = 0, version = 4, flags = 5, type = 6, subtype = 7, length = 8, seq = 12 }
local HEADER_FIELDS = {
  { name = "magic", offset = 0, size = 4 },
  { name = "version", offset = 4, size = 1 },
  { name = "flags", offset = 5, size = 1 },
  { name = "type", offset = 6, size = 1 },
  { name = "subtype", offset = 7, size = 1 },
  { name = "length", offset = 8, size = 4 },
  { name = "seq", offset = 12, size = 4 },
}

local VS = {}
VS.types = { [1] = "control", [16] = "iha", [17] = "sdrl", [18] = "psrm", [32] = "prl", [127] = "probe" }
VS.errors = { [1] = "ERR_BAD_MAGIC", [2] = "ERR_UNSUPPORTED_VERSION", [3] = "ERR_LENGTH_TOO_SMALL", [4] = "ERR_FRAME_TOO_LARGE", [5] = "ERR_TRUNCATED_BODY", [6] = "ERR_TRAILING_BYTES", [7] = "ERR_RESERVED_NONZERO", [8] = "ERR_BAD_COUNT", [9] = "ERR_BAD_LENGTH_FIELD", [10] = "ERR_UNKNOWN_TYPE", [11] = "ERR_UNKNOWN_SUBTYPE", [12] = "ERR_RESERVED_FLAG", [13] = "ERR_BAD_UTF8", [14] = "ERR_WRONG_CHANNEL", [15] = "ERR_BAD_SEQUENCE", [16] = "ERR_UNEXPECTED_MESSAGE", [17] = "ERR_HANDSHAKE_TIMEOUT", [18] = "ERR_BAD_HELLO", [36] = "ERR_HANDLER_FAILED", [37] = "ERR_NO_HANDLER" }
VS.enum_asyncEvent = { [1] = "connected", [2] = "peerClosed", [3] = "error" }
VS.enum_channel = { [1] = "send", [2] = "receive" }
VS.enum_cleanupDetail = { [0] = "none", [1] = "manualSwitchover", [2] = "masterOffline", [3] = "backupOffline", [4] = "clusterMemberLost", [5] = "connectionReset", [6] = "endOfStream", [7] = "protocolError", [8] = "handshakeTimeout", [9] = "deadConnection", [10] = "localShutdown", [11] = "peerShutdown" }
VS.enum_cleanupReason = { [0] = "switchover", [1] = "peerDown", [2] = "nsrDeconfigured", [3] = "socketIoError", [255] = "none" }
VS.enum_direction = { [1] = "inbound", [2] = "outbound" }
VS.enum_ipProtocol = { [6] = "tcp", [17] = "udp", [255] = "raw" }
VS.enum_rejectReason = { [1] = "versionIncompatible", [2] = "sessionBusy", [3] = "roleConflict", [4] = "notAllowed", [5] = "sessionMismatch", [6] = "channelBusy", [7] = "nsrNotConfigured", [8] = "messageLimitTooSmall", [9] = "slotConflict" }
VS.enum_role = { [1] = "master", [2] = "backup" }
VS.enum_tcpState = { [0] = "closed", [1] = "listen", [2] = "synSent", [3] = "synReceived", [4] = "established", [5] = "closeWait", [6] = "finWait1", [7] = "closing", [8] = "lastAck", [9] = "finWait2", [10] = "timeWait" }
VS.enum_teardownReason = { [1] = "closed", [2] = "aborted", [3] = "timedOut" }

local HF = {}
HF.magic = ProtoField.uint32("jsripc.magic", "Magic", base.HEX, nil, nil, "Always 0x4B4B434D (\"KKCM\"): detects garbage and a desynchronised stream at the first header.")
HF.version = ProtoField.uint8("jsripc.version", "Version", base.DEC, nil, nil, "Protocol version this message is written in. After the handshake, the negotiated version. HELLO is written in the sender's highest version, HELLO-ACK in the negotiated one, HELLO-REJECT in the HELLO's highest version; these three keep one layout in every version and a receiver in the handshake accepts them whatever their header version.")
HF.flags = ProtoField.uint8("jsripc.flags", "Flags", base.HEX, nil, nil, "Bit set; see the flags table. Undefined bits are reserved and must be zero.")
HF.type = ProtoField.uint8("jsripc.type", "Type", base.DEC, VS.types, nil, "Message type: selects the owning client and the channel.")
HF.subtype = ProtoField.uint8("jsripc.subtype", "Subtype", base.DEC, nil, nil, "Message subtype within the type: selects the body layout.")
HF.length = ProtoField.uint32("jsripc.length", "Length", base.DEC, nil, nil, "Total message length in bytes, header included (as jsr_ipc_length_t in the design).")
HF.seq = ProtoField.uint32("jsripc.seq", "Sequence number", base.DEC, nil, nil, "Per-channel, per-direction sequence number: 0 for the first message a side sends on a connection, then +1 per message, wrapping at 2^32.")
HF.flags_reserved = ProtoField.uint8("jsripc.flags.reserved", "Reserved bits", base.HEX, nil, 0xfc, "Undefined flag bits: must be zero.")
HF.msg = ProtoField.string("jsripc.msg", "Message", base.ASCII, "Qualified message name, <type>.<subtype> (generated from type and subtype).")
HF.channel = ProtoField.uint8("jsripc.channel", "Channel", base.DEC, { [1] = "send", [2] = "receive" }, nil, "Channel this TCP stream carries: from its HELLO or HELLO-ACK, else the one channel the message type travels on.")
HF.body = ProtoField.bytes("jsripc.body", "Body", base.NONE, "Every byte after the header.")
HF.trailing = ProtoField.bytes("jsripc.trailing", "Trailing bytes", base.NONE, "Body bytes after the end of the layout.")
HF.undecoded = ProtoField.bytes("jsripc.undecoded", "Undecoded", base.NONE, "Bytes that cannot be framed after a bad header.")
local FLAGS = {
  { name = "mayIgnore", field = ProtoField.bool("jsripc.flags.may_ignore", "mayIgnore", 8, nil, 0x01, "A receiver that does not know the type or subtype skips the message instead of failing the session. Lets version N and N-1 interoperate. A skipped message still takes its sequence number (the next one is numbered one more), reaches no client and is never confirmed by ACK or NACK, ackRequested or not.") },
  { name = "ackRequested", field = ProtoField.bool("jsripc.flags.ack_requested", "ackRequested", 8, nil, 0x02, "The sender asks for delivery confirmation of a client message (KKCM-CTL-4). A sender sets it only when deliveryAck was negotiated; a receiver that did not negotiate deliveryAck may ignore it (the reference peer confirms anyway), and never treats it as an error. It means nothing on a control message or on a skipped (mayIgnore) one: those are never confirmed.") },
}

local EI = {}
EI.ERR_BAD_MAGIC = ProtoExpert.new("jsripc.expert.bad_magic", "ERR_BAD_MAGIC: The header does not start with the magic value: garbage, or a desynchronised stream.", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_UNSUPPORTED_VERSION = ProtoExpert.new("jsripc.expert.unsupported_version", "ERR_UNSUPPORTED_VERSION: The header's version is outside the versions this implementation speaks, or differs from the negotiated version after the handshake.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_LENGTH_TOO_SMALL = ProtoExpert.new("jsripc.expert.length_too_small", "ERR_LENGTH_TOO_SMALL: The header's length is smaller than the header size.", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_FRAME_TOO_LARGE = ProtoExpert.new("jsripc.expert.frame_too_large", "ERR_FRAME_TOO_LARGE: The header's length exceeds the largest message the receiver accepts. Checked before any body byte is buffered.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_TRUNCATED_BODY = ProtoExpert.new("jsripc.expert.truncated_body", "ERR_TRUNCATED_BODY: The body ends before its layout does. On the wire: a control message (KKCM checks no client body, KKCM-DISP-3); the codec raises it too when a tool or a client decodes a client body against the illustrative layout.", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_TRAILING_BYTES = ProtoExpert.new("jsripc.expert.trailing_bytes", "ERR_TRAILING_BYTES: The body is longer than its layout. On the wire: a control message (KKCM checks no client body, KKCM-DISP-3); the codec raises it too when a tool or a client decodes a client body against the illustrative layout.", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_RESERVED_NONZERO = ProtoExpert.new("jsripc.expert.reserved_nonzero", "ERR_RESERVED_NONZERO: A reserved field holds a non-zero byte. On the wire: a reserved field of a control message (KKCM checks no client body, KKCM-DISP-3).", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_BAD_COUNT = ProtoExpert.new("jsripc.expert.bad_count", "ERR_BAD_COUNT: A count field announces more items than the body holds. Only client bodies (PSRM STATE-BATCH) have count fields, and KKCM does not check client bodies (KKCM-DISP-3): a conforming peer never sends it; the codec raises it when a tool or a client decodes the illustrative layout. Kept for numbering (codes are append-only).", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_BAD_LENGTH_FIELD = ProtoExpert.new("jsripc.expert.bad_length_field", "ERR_BAD_LENGTH_FIELD: A length field announces more bytes than the body holds. On the wire: a control message (KKCM checks no client body, KKCM-DISP-3).", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_UNKNOWN_TYPE = ProtoExpert.new("jsripc.expert.unknown_type", "ERR_UNKNOWN_TYPE: The type is unknown and the mayIgnore flag is clear.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_UNKNOWN_SUBTYPE = ProtoExpert.new("jsripc.expert.unknown_subtype", "ERR_UNKNOWN_SUBTYPE: The subtype is unknown for the control type and the mayIgnore flag is clear. Every subtype of a client-owned type goes to its client (KKCM-DISP-3); the codec raises it when a client body of a subtype the spec does not list is decoded against the illustrative layouts.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_RESERVED_FLAG = ProtoExpert.new("jsripc.expert.reserved_flag", "ERR_RESERVED_FLAG: A reserved flag bit is set.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_BAD_UTF8 = ProtoExpert.new("jsripc.expert.bad_utf8", "ERR_BAD_UTF8: A string field is not valid UTF-8. On the wire: a string of a control message (KKCM checks no client body, KKCM-DISP-3).", expert.group.MALFORMED, expert.severity.ERROR)
EI.ERR_WRONG_CHANNEL = ProtoExpert.new("jsripc.expert.wrong_channel", "ERR_WRONG_CHANNEL: The message's type does not travel on the channel it arrived on.", expert.group.PROTOCOL, expert.severity.ERROR)
EI.ERR_BAD_SEQUENCE = ProtoExpert.new("jsripc.expert.bad_sequence", "ERR_BAD_SEQUENCE: The sequence number is not the previous one plus one.", expert.group.SEQUENCE, expert.severity.WARN)
EI.ERR_STREAM_TRUNCATED = ProtoExpert.new("jsripc.expert.stream_truncated", "ERR_STREAM_TRUNCATED: The stream ended in the middle of a message.", expert.group.MALFORMED, expert.severity.ERROR)
EI.skipped = ProtoExpert.new("jsripc.expert.skipped", "Unknown type or subtype skipped: mayIgnore is set [KKCM-TYPE-1]", expert.group.UNDECODED, expert.severity.NOTE)
EI.illustrative_misfit = ProtoExpert.new("jsripc.expert.illustrative_misfit", "Client body does not fit the spec's illustrative layout: shown as raw bytes, not an error (client data is opaque to KKCM) [KKCM-DISP-3]", expert.group.UNDECODED, expert.severity.NOTE)
EI.dissector_bug = ProtoExpert.new("jsripc.expert.dissector_bug", "The dissector failed on this message: a bug, please report it", expert.group.MALFORMED, expert.severity.ERROR)
jsripc.experts = { EI.ERR_BAD_MAGIC, EI.ERR_UNSUPPORTED_VERSION, EI.ERR_LENGTH_TOO_SMALL, EI.ERR_FRAME_TOO_LARGE, EI.ERR_TRUNCATED_BODY, EI.ERR_TRAILING_BYTES, EI.ERR_RESERVED_NONZERO, EI.ERR_BAD_COUNT, EI.ERR_BAD_LENGTH_FIELD, EI.ERR_UNKNOWN_TYPE, EI.ERR_UNKNOWN_SUBTYPE, EI.ERR_RESERVED_FLAG, EI.ERR_BAD_UTF8, EI.ERR_WRONG_CHANNEL, EI.ERR_BAD_SEQUENCE, EI.ERR_STREAM_TRUNCATED, EI.skipped, EI.illustrative_misfit, EI.dissector_bug }

local TYPES = {}
TYPES[1] = { name = "control", channels = { [1] = true, [2] = true }, only_channel = nil }
TYPES[16] = { name = "iha", channels = { [1] = true }, only_channel = 1, opaque = true }
TYPES[17] = { name = "sdrl", channels = { [1] = true }, only_channel = 1, opaque = true }
TYPES[18] = { name = "psrm", channels = { [1] = true }, only_channel = 1, opaque = true }
TYPES[32] = { name = "prl", channels = { [2] = true }, only_channel = 2, opaque = true }
TYPES[127] = { name = "probe", channels = { [1] = true, [2] = true }, only_channel = nil, opaque = true }

local F = {}
local MESSAGES = {}

-- control.hello (HELLO): First message the connecting side (RE1 in dual-re, the backup in cluster: session.topologies) sends on each channel. Carries the version range, features, role, node, channel, session id and largest message the sender accepts.
F["jsripc.control.hello.minVersion"] = ProtoField.uint8("jsripc.control.hello.minVersion", "minVersion", base.DEC, nil, nil, "Lowest protocol version the sender speaks.")
F["jsripc.control.hello.maxVersion"] = ProtoField.uint8("jsripc.control.hello.maxVersion", "maxVersion", base.DEC, nil, nil, "Highest protocol version the sender speaks.")
F["jsripc.control.hello.role"] = ProtoField.uint8("jsripc.control.hello.role", "role", base.DEC, VS.enum_role, nil, "Protocol role the sender plays; the other side refuses its own role (roleConflict).")
F["jsripc.control.hello.channel"] = ProtoField.uint8("jsripc.control.hello.channel", "channel", base.DEC, VS.enum_channel, nil, "Channel this connection is to carry.")
F["jsripc.control.hello.features"] = ProtoField.uint32("jsripc.control.hello.features", "features", base.DEC, nil, nil, "Feature bits the sender supports (features table).")
F["jsripc.control.hello.nodeId"] = ProtoField.uint32("jsripc.control.hello.nodeId", "nodeId", base.DEC, nil, nil, "Sender's node id: in dual-re its RE slot (the connecting RE is 1, checked by the listener: slotConflict); in cluster its node id.")
F["jsripc.control.hello.maxMessage"] = ProtoField.uint32("jsripc.control.hello.maxMessage", "maxMessage", base.DEC, nil, nil, "Largest message, header included, the sender accepts.")
F["jsripc.control.hello.sessionId"] = ProtoField.uint64("jsripc.control.hello.sessionId", "sessionId", base.DEC, nil, nil, "Session id chosen by the connecting side; identical on both channels of a session; never 0.")
F["jsripc.control.hello.nodeNameLength"] = ProtoField.uint8("jsripc.control.hello.nodeNameLength", "nodeNameLength", base.DEC, nil, nil, "Length of nodeName in bytes.")
F["jsripc.control.hello.nodeName"] = ProtoField.string("jsripc.control.hello.nodeName", "nodeName", base.UNICODE, "Human-readable node name, UTF-8.")
MESSAGES[0x0101] = {
  name = "control.hello", label = "HELLO", subtype_name = "hello", handshake = true, sets_channel = "channel",
  fields = {
    { name = "minVersion", kind = "uint", size = 1, field = F["jsripc.control.hello.minVersion"] },
    { name = "maxVersion", kind = "uint", size = 1, field = F["jsripc.control.hello.maxVersion"] },
    { name = "role", kind = "uint", size = 1, field = F["jsripc.control.hello.role"] },
    { name = "channel", kind = "uint", size = 1, field = F["jsripc.control.hello.channel"] },
    { name = "features", kind = "uint", size = 4, field = F["jsripc.control.hello.features"] },
    { name = "nodeId", kind = "uint", size = 4, field = F["jsripc.control.hello.nodeId"] },
    { name = "maxMessage", kind = "uint", size = 4, field = F["jsripc.control.hello.maxMessage"] },
    { name = "sessionId", kind = "uint64", size = 8, field = F["jsripc.control.hello.sessionId"] },
    { name = "nodeNameLength", kind = "uint", size = 1, derived = true, field = F["jsripc.control.hello.nodeNameLength"] },
    { name = "nodeName", kind = "string", length = "nodeNameLength", field = F["jsripc.control.hello.nodeName"] },
  },
}

-- control.helloAck (HELLO-ACK): The listening side (RE0 in dual-re, the master in cluster) accepts a HELLO. The channel is bound to the session once this is sent.
F["jsripc.control.helloAck.version"] = ProtoField.uint8("jsripc.control.helloAck.version", "version", base.DEC, nil, nil, "Negotiated version: the highest version in both ranges.")
F["jsripc.control.helloAck.role"] = ProtoField.uint8("jsripc.control.helloAck.role", "role", base.DEC, VS.enum_role, nil, "Protocol role the sender plays; the other side refuses its own role (roleConflict).")
F["jsripc.control.helloAck.channel"] = ProtoField.uint8("jsripc.control.helloAck.channel", "channel", base.DEC, VS.enum_channel, nil, "Channel this connection carries (echoed).")
F["jsripc.control.helloAck.reserved"] = ProtoField.bytes("jsripc.control.helloAck.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.control.helloAck.features"] = ProtoField.uint32("jsripc.control.helloAck.features", "features", base.DEC, nil, nil, "Features both sides support (intersection).")
F["jsripc.control.helloAck.nodeId"] = ProtoField.uint32("jsripc.control.helloAck.nodeId", "nodeId", base.DEC, nil, nil, "Sender's node id.")
F["jsripc.control.helloAck.maxMessage"] = ProtoField.uint32("jsripc.control.helloAck.maxMessage", "maxMessage", base.DEC, nil, nil, "Largest message, header included, the sender accepts.")
F["jsripc.control.helloAck.sessionId"] = ProtoField.uint64("jsripc.control.helloAck.sessionId", "sessionId", base.DEC, nil, nil, "Session id (echoed from the HELLO).")
F["jsripc.control.helloAck.nodeNameLength"] = ProtoField.uint8("jsripc.control.helloAck.nodeNameLength", "nodeNameLength", base.DEC, nil, nil, "Length of nodeName in bytes.")
F["jsripc.control.helloAck.nodeName"] = ProtoField.string("jsripc.control.helloAck.nodeName", "nodeName", base.UNICODE, "Human-readable node name, UTF-8.")
MESSAGES[0x0102] = {
  name = "control.helloAck", label = "HELLO-ACK", subtype_name = "helloAck", handshake = true, sets_channel = "channel", sets_version = "version",
  fields = {
    { name = "version", kind = "uint", size = 1, field = F["jsripc.control.helloAck.version"] },
    { name = "role", kind = "uint", size = 1, field = F["jsripc.control.helloAck.role"] },
    { name = "channel", kind = "uint", size = 1, field = F["jsripc.control.helloAck.channel"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.control.helloAck.reserved"] },
    { name = "features", kind = "uint", size = 4, field = F["jsripc.control.helloAck.features"] },
    { name = "nodeId", kind = "uint", size = 4, field = F["jsripc.control.helloAck.nodeId"] },
    { name = "maxMessage", kind = "uint", size = 4, field = F["jsripc.control.helloAck.maxMessage"] },
    { name = "sessionId", kind = "uint64", size = 8, field = F["jsripc.control.helloAck.sessionId"] },
    { name = "nodeNameLength", kind = "uint", size = 1, derived = true, field = F["jsripc.control.helloAck.nodeNameLength"] },
    { name = "nodeName", kind = "string", length = "nodeNameLength", field = F["jsripc.control.helloAck.nodeName"] },
  },
}

-- control.helloReject (HELLO-REJECT): The listening side refuses a HELLO, then closes the connection.
F["jsripc.control.helloReject.reason"] = ProtoField.uint16("jsripc.control.helloReject.reason", "reason", base.DEC, VS.enum_rejectReason, nil, "Why the HELLO was refused.")
F["jsripc.control.helloReject.minVersion"] = ProtoField.uint8("jsripc.control.helloReject.minVersion", "minVersion", base.DEC, nil, nil, "Lowest version the sender speaks.")
F["jsripc.control.helloReject.maxVersion"] = ProtoField.uint8("jsripc.control.helloReject.maxVersion", "maxVersion", base.DEC, nil, nil, "Highest version the sender speaks.")
F["jsripc.control.helloReject.retryAfterMs"] = ProtoField.uint32("jsripc.control.helloReject.retryAfterMs", "retryAfterMs", base.DEC, nil, nil, "Milliseconds to wait before retrying; 0 means do not retry with the same parameters.")
F["jsripc.control.helloReject.textLength"] = ProtoField.uint16("jsripc.control.helloReject.textLength", "textLength", base.DEC, nil, nil, "Length of text in bytes.")
F["jsripc.control.helloReject.text"] = ProtoField.string("jsripc.control.helloReject.text", "text", base.UNICODE, "Human-readable explanation, UTF-8.")
MESSAGES[0x0103] = {
  name = "control.helloReject", label = "HELLO-REJECT", subtype_name = "helloReject", handshake = true,
  fields = {
    { name = "reason", kind = "uint", size = 2, field = F["jsripc.control.helloReject.reason"] },
    { name = "minVersion", kind = "uint", size = 1, field = F["jsripc.control.helloReject.minVersion"] },
    { name = "maxVersion", kind = "uint", size = 1, field = F["jsripc.control.helloReject.maxVersion"] },
    { name = "retryAfterMs", kind = "uint", size = 4, field = F["jsripc.control.helloReject.retryAfterMs"] },
    { name = "textLength", kind = "uint", size = 2, derived = true, field = F["jsripc.control.helloReject.textLength"] },
    { name = "text", kind = "string", length = "textLength", field = F["jsripc.control.helloReject.text"] },
  },
}

-- control.echoRequest (ECHO-REQUEST): Asks the peer's KKCM to return the payload exactly in an ECHO-REPLY on the same channel. Used for diagnostics and as a barrier.
F["jsripc.control.echoRequest.token"] = ProtoField.uint32("jsripc.control.echoRequest.token", "token", base.DEC, nil, nil, "Opaque token, returned unchanged.")
F["jsripc.control.echoRequest.payloadLength"] = ProtoField.uint32("jsripc.control.echoRequest.payloadLength", "payloadLength", base.DEC, nil, nil, "Length of payload in bytes.")
F["jsripc.control.echoRequest.payload"] = ProtoField.bytes("jsripc.control.echoRequest.payload", "payload", base.NONE, "Bytes returned exactly.")
MESSAGES[0x0104] = {
  name = "control.echoRequest", label = "ECHO-REQUEST", subtype_name = "echoRequest",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.control.echoRequest.token"] },
    { name = "payloadLength", kind = "uint", size = 4, derived = true, field = F["jsripc.control.echoRequest.payloadLength"] },
    { name = "payload", kind = "bytes", length = "payloadLength", field = F["jsripc.control.echoRequest.payload"] },
  },
}

-- control.echoReply (ECHO-REPLY): Answer to ECHO-REQUEST: same token and payload.
F["jsripc.control.echoReply.token"] = ProtoField.uint32("jsripc.control.echoReply.token", "token", base.DEC, nil, nil, "Token of the request.")
F["jsripc.control.echoReply.payloadLength"] = ProtoField.uint32("jsripc.control.echoReply.payloadLength", "payloadLength", base.DEC, nil, nil, "Length of payload in bytes.")
F["jsripc.control.echoReply.payload"] = ProtoField.bytes("jsripc.control.echoReply.payload", "payload", base.NONE, "Payload of the request, unchanged.")
MESSAGES[0x0105] = {
  name = "control.echoReply", label = "ECHO-REPLY", subtype_name = "echoReply",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.control.echoReply.token"] },
    { name = "payloadLength", kind = "uint", size = 4, derived = true, field = F["jsripc.control.echoReply.payloadLength"] },
    { name = "payload", kind = "bytes", length = "payloadLength", field = F["jsripc.control.echoReply.payload"] },
  },
}

-- control.error (ERROR): Reports a protocol error. The sender closes the session right after sending it: it half-closes (TCP FIN) once the ERROR is written, reads and drops whatever still arrives, and closes within shutdownLingerMs; it never resets the connection before the ERROR is written.
F["jsripc.control.error.code"] = ProtoField.uint16("jsripc.control.error.code", "code", base.DEC, VS.errors, nil, "Numeric error code (error codes table).")
F["jsripc.control.error.reserved"] = ProtoField.bytes("jsripc.control.error.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.control.error.offendingSeq"] = ProtoField.uint32("jsripc.control.error.offendingSeq", "offendingSeq", base.DEC, nil, nil, "Sequence number of the offending message, or 0xFFFFFFFF when none can be named.")
F["jsripc.control.error.offendingType"] = ProtoField.uint8("jsripc.control.error.offendingType", "offendingType", base.DEC, VS.types, nil, "Type of the offending message, or 0 when unknown.")
F["jsripc.control.error.offendingSubtype"] = ProtoField.uint8("jsripc.control.error.offendingSubtype", "offendingSubtype", base.DEC, nil, nil, "Subtype of the offending message, or 0 when unknown.")
F["jsripc.control.error.textLength"] = ProtoField.uint16("jsripc.control.error.textLength", "textLength", base.DEC, nil, nil, "Length of text in bytes.")
F["jsripc.control.error.text"] = ProtoField.string("jsripc.control.error.text", "text", base.UNICODE, "Human-readable explanation, UTF-8.")
MESSAGES[0x0106] = {
  name = "control.error", label = "ERROR", subtype_name = "error",
  fields = {
    { name = "code", kind = "uint", size = 2, field = F["jsripc.control.error.code"] },
    { name = "reserved", kind = "reserved", size = 2, field = F["jsripc.control.error.reserved"] },
    { name = "offendingSeq", kind = "uint", size = 4, field = F["jsripc.control.error.offendingSeq"] },
    { name = "offendingType", kind = "uint", size = 1, field = F["jsripc.control.error.offendingType"] },
    { name = "offendingSubtype", kind = "uint", size = 1, field = F["jsripc.control.error.offendingSubtype"] },
    { name = "textLength", kind = "uint", size = 2, derived = true, field = F["jsripc.control.error.textLength"] },
    { name = "text", kind = "string", length = "textLength", field = F["jsripc.control.error.text"] },
  },
}

-- control.shutdown (SHUTDOWN): Sent on both channels before a deliberate close, so the peer cleans up with the right reason.
F["jsripc.control.shutdown.reason"] = ProtoField.uint8("jsripc.control.shutdown.reason", "reason", base.DEC, VS.enum_cleanupReason, nil, "Cleanup reason the receiver passes to its clients.")
F["jsripc.control.shutdown.reserved"] = ProtoField.bytes("jsripc.control.shutdown.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.control.shutdown.detail"] = ProtoField.uint16("jsripc.control.shutdown.detail", "detail", base.DEC, VS.enum_cleanupDetail, nil, "Finer detail.")
F["jsripc.control.shutdown.textLength"] = ProtoField.uint16("jsripc.control.shutdown.textLength", "textLength", base.DEC, nil, nil, "Length of text in bytes.")
F["jsripc.control.shutdown.text"] = ProtoField.string("jsripc.control.shutdown.text", "text", base.UNICODE, "Human-readable explanation, UTF-8.")
MESSAGES[0x0107] = {
  name = "control.shutdown", label = "SHUTDOWN", subtype_name = "shutdown",
  fields = {
    { name = "reason", kind = "uint", size = 1, field = F["jsripc.control.shutdown.reason"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.control.shutdown.reserved"] },
    { name = "detail", kind = "uint", size = 2, field = F["jsripc.control.shutdown.detail"] },
    { name = "textLength", kind = "uint", size = 2, derived = true, field = F["jsripc.control.shutdown.textLength"] },
    { name = "text", kind = "string", length = "textLength", field = F["jsripc.control.shutdown.text"] },
  },
}

-- control.ack (ACK): Cumulative delivery confirmation on the channel it travels on: upTo is the sequence number of the newest ackRequested client message confirmed; every ackRequested client message received on this channel since the previous ACK, up to and including upTo, and not NACKed was accepted by its client handler.
F["jsripc.control.ack.upTo"] = ProtoField.uint32("jsripc.control.ack.upTo", "upTo", base.DEC, nil, nil, "Sequence number of the newest confirmed message.")
MESSAGES[0x0108] = {
  name = "control.ack", label = "ACK", subtype_name = "ack",
  fields = {
    { name = "upTo", kind = "uint", size = 4, field = F["jsripc.control.ack.upTo"] },
  },
}

-- control.nack (NACK): An ackRequested message was delivered but not accepted: its client handler threw, or no client is registered for its type. Sent before any ACK whose upTo reaches the same sequence number; a later ACK may pass that number without withdrawing the NACK.
F["jsripc.control.nack.seq"] = ProtoField.uint32("jsripc.control.nack.seq", "seq", base.DEC, nil, nil, "Sequence number of the message that was not accepted.")
F["jsripc.control.nack.code"] = ProtoField.uint16("jsripc.control.nack.code", "code", base.DEC, VS.errors, nil, "Why: ERR_HANDLER_FAILED or ERR_NO_HANDLER (error codes table).")
F["jsripc.control.nack.reserved"] = ProtoField.bytes("jsripc.control.nack.reserved", "reserved", base.NONE, "Must be zero.")
MESSAGES[0x0109] = {
  name = "control.nack", label = "NACK", subtype_name = "nack",
  fields = {
    { name = "seq", kind = "uint", size = 4, field = F["jsripc.control.nack.seq"] },
    { name = "code", kind = "uint", size = 2, field = F["jsripc.control.nack.code"] },
    { name = "reserved", kind = "reserved", size = 2, field = F["jsripc.control.nack.reserved"] },
  },
}

-- iha.handleSetupV4 (HANDLE-SETUP-IPV4): Set up replication of an IPv4 socket under a handle.
F["jsripc.iha.handleSetupV4.handle"] = ProtoField.uint32("jsripc.iha.handleSetupV4.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.iha.handleSetupV4.protocol"] = ProtoField.uint8("jsripc.iha.handleSetupV4.protocol", "protocol", base.DEC, VS.enum_ipProtocol, nil, "IP protocol.")
F["jsripc.iha.handleSetupV4.reserved"] = ProtoField.bytes("jsripc.iha.handleSetupV4.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.iha.handleSetupV4.localPort"] = ProtoField.uint16("jsripc.iha.handleSetupV4.localPort", "localPort", base.DEC, nil, nil, "Local port.")
F["jsripc.iha.handleSetupV4.remotePort"] = ProtoField.uint16("jsripc.iha.handleSetupV4.remotePort", "remotePort", base.DEC, nil, nil, "Remote port.")
F["jsripc.iha.handleSetupV4.reserved2"] = ProtoField.bytes("jsripc.iha.handleSetupV4.reserved2", "reserved2", base.NONE, "Must be zero.")
F["jsripc.iha.handleSetupV4.localAddress"] = ProtoField.ipv4("jsripc.iha.handleSetupV4.localAddress", "localAddress", "Local IPv4 address.")
F["jsripc.iha.handleSetupV4.remoteAddress"] = ProtoField.ipv4("jsripc.iha.handleSetupV4.remoteAddress", "remoteAddress", "Remote IPv4 address.")
F["jsripc.iha.handleSetupV4.appNameLength"] = ProtoField.uint8("jsripc.iha.handleSetupV4.appNameLength", "appNameLength", base.DEC, nil, nil, "Length of appName in bytes.")
F["jsripc.iha.handleSetupV4.appName"] = ProtoField.string("jsripc.iha.handleSetupV4.appName", "appName", base.UNICODE, "Owning application, UTF-8 (e.g. rpd).")
MESSAGES[0x1001] = {
  name = "iha.handleSetupV4", label = "HANDLE-SETUP-IPV4", subtype_name = "handleSetupV4",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.iha.handleSetupV4.handle"] },
    { name = "protocol", kind = "uint", size = 1, field = F["jsripc.iha.handleSetupV4.protocol"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.iha.handleSetupV4.reserved"] },
    { name = "localPort", kind = "uint", size = 2, field = F["jsripc.iha.handleSetupV4.localPort"] },
    { name = "remotePort", kind = "uint", size = 2, field = F["jsripc.iha.handleSetupV4.remotePort"] },
    { name = "reserved2", kind = "reserved", size = 2, field = F["jsripc.iha.handleSetupV4.reserved2"] },
    { name = "localAddress", kind = "ipv4", size = 4, field = F["jsripc.iha.handleSetupV4.localAddress"] },
    { name = "remoteAddress", kind = "ipv4", size = 4, field = F["jsripc.iha.handleSetupV4.remoteAddress"] },
    { name = "appNameLength", kind = "uint", size = 1, derived = true, field = F["jsripc.iha.handleSetupV4.appNameLength"] },
    { name = "appName", kind = "string", length = "appNameLength", field = F["jsripc.iha.handleSetupV4.appName"] },
  },
}

-- iha.handleSetupV6 (HANDLE-SETUP-IPV6): Set up replication of an IPv6 socket under a handle.
F["jsripc.iha.handleSetupV6.handle"] = ProtoField.uint32("jsripc.iha.handleSetupV6.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.iha.handleSetupV6.protocol"] = ProtoField.uint8("jsripc.iha.handleSetupV6.protocol", "protocol", base.DEC, VS.enum_ipProtocol, nil, "IP protocol.")
F["jsripc.iha.handleSetupV6.reserved"] = ProtoField.bytes("jsripc.iha.handleSetupV6.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.iha.handleSetupV6.localPort"] = ProtoField.uint16("jsripc.iha.handleSetupV6.localPort", "localPort", base.DEC, nil, nil, "Local port.")
F["jsripc.iha.handleSetupV6.remotePort"] = ProtoField.uint16("jsripc.iha.handleSetupV6.remotePort", "remotePort", base.DEC, nil, nil, "Remote port.")
F["jsripc.iha.handleSetupV6.reserved2"] = ProtoField.bytes("jsripc.iha.handleSetupV6.reserved2", "reserved2", base.NONE, "Must be zero.")
F["jsripc.iha.handleSetupV6.localAddress"] = ProtoField.ipv6("jsripc.iha.handleSetupV6.localAddress", "localAddress", "Local IPv6 address.")
F["jsripc.iha.handleSetupV6.remoteAddress"] = ProtoField.ipv6("jsripc.iha.handleSetupV6.remoteAddress", "remoteAddress", "Remote IPv6 address.")
F["jsripc.iha.handleSetupV6.appNameLength"] = ProtoField.uint8("jsripc.iha.handleSetupV6.appNameLength", "appNameLength", base.DEC, nil, nil, "Length of appName in bytes.")
F["jsripc.iha.handleSetupV6.appName"] = ProtoField.string("jsripc.iha.handleSetupV6.appName", "appName", base.UNICODE, "Owning application, UTF-8.")
MESSAGES[0x1002] = {
  name = "iha.handleSetupV6", label = "HANDLE-SETUP-IPV6", subtype_name = "handleSetupV6",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.iha.handleSetupV6.handle"] },
    { name = "protocol", kind = "uint", size = 1, field = F["jsripc.iha.handleSetupV6.protocol"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.iha.handleSetupV6.reserved"] },
    { name = "localPort", kind = "uint", size = 2, field = F["jsripc.iha.handleSetupV6.localPort"] },
    { name = "remotePort", kind = "uint", size = 2, field = F["jsripc.iha.handleSetupV6.remotePort"] },
    { name = "reserved2", kind = "reserved", size = 2, field = F["jsripc.iha.handleSetupV6.reserved2"] },
    { name = "localAddress", kind = "ipv6", size = 16, field = F["jsripc.iha.handleSetupV6.localAddress"] },
    { name = "remoteAddress", kind = "ipv6", size = 16, field = F["jsripc.iha.handleSetupV6.remoteAddress"] },
    { name = "appNameLength", kind = "uint", size = 1, derived = true, field = F["jsripc.iha.handleSetupV6.appNameLength"] },
    { name = "appName", kind = "string", length = "appNameLength", field = F["jsripc.iha.handleSetupV6.appName"] },
  },
}

-- iha.handleTeardown (HANDLE-TEARDOWN): Stop replicating the socket under a handle.
F["jsripc.iha.handleTeardown.handle"] = ProtoField.uint32("jsripc.iha.handleTeardown.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.iha.handleTeardown.reason"] = ProtoField.uint16("jsripc.iha.handleTeardown.reason", "reason", base.DEC, VS.enum_teardownReason, nil, "Why.")
F["jsripc.iha.handleTeardown.reserved"] = ProtoField.bytes("jsripc.iha.handleTeardown.reserved", "reserved", base.NONE, "Must be zero.")
MESSAGES[0x1003] = {
  name = "iha.handleTeardown", label = "HANDLE-TEARDOWN", subtype_name = "handleTeardown",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.iha.handleTeardown.handle"] },
    { name = "reason", kind = "uint", size = 2, field = F["jsripc.iha.handleTeardown.reason"] },
    { name = "reserved", kind = "reserved", size = 2, field = F["jsripc.iha.handleTeardown.reserved"] },
  },
}

-- iha.asyncNotify (ASYNC-NOTIFY): Asynchronous notification about a replicated socket.
F["jsripc.iha.asyncNotify.handle"] = ProtoField.uint32("jsripc.iha.asyncNotify.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.iha.asyncNotify.event"] = ProtoField.uint16("jsripc.iha.asyncNotify.event", "event", base.DEC, VS.enum_asyncEvent, nil, "Event.")
F["jsripc.iha.asyncNotify.reserved"] = ProtoField.bytes("jsripc.iha.asyncNotify.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.iha.asyncNotify.value"] = ProtoField.uint64("jsripc.iha.asyncNotify.value", "value", base.DEC, nil, nil, "Event value (errno for error).")
MESSAGES[0x1004] = {
  name = "iha.asyncNotify", label = "ASYNC-NOTIFY", subtype_name = "asyncNotify",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.iha.asyncNotify.handle"] },
    { name = "event", kind = "uint", size = 2, field = F["jsripc.iha.asyncNotify.event"] },
    { name = "reserved", kind = "reserved", size = 2, field = F["jsripc.iha.asyncNotify.reserved"] },
    { name = "value", kind = "uint64", size = 8, field = F["jsripc.iha.asyncNotify.value"] },
  },
}

-- sdrl.socketData (SOCKET-DATA): Data an application wrote to a replicated socket.
F["jsripc.sdrl.socketData.handle"] = ProtoField.uint32("jsripc.sdrl.socketData.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.sdrl.socketData.streamOffset"] = ProtoField.uint64("jsripc.sdrl.socketData.streamOffset", "streamOffset", base.DEC, nil, nil, "Offset of the first byte in the socket's send stream.")
F["jsripc.sdrl.socketData.dataLength"] = ProtoField.uint32("jsripc.sdrl.socketData.dataLength", "dataLength", base.DEC, nil, nil, "Length of data in bytes.")
F["jsripc.sdrl.socketData.data"] = ProtoField.bytes("jsripc.sdrl.socketData.data", "data", base.NONE, "Socket data.")
MESSAGES[0x1101] = {
  name = "sdrl.socketData", label = "SOCKET-DATA", subtype_name = "socketData",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.sdrl.socketData.handle"] },
    { name = "streamOffset", kind = "uint64", size = 8, field = F["jsripc.sdrl.socketData.streamOffset"] },
    { name = "dataLength", kind = "uint", size = 4, derived = true, field = F["jsripc.sdrl.socketData.dataLength"] },
    { name = "data", kind = "bytes", length = "dataLength", field = F["jsripc.sdrl.socketData.data"] },
  },
}

-- sdrl.socketDataAck (SOCKET-DATA-ACK): The backup has stored socket data up to an offset.
F["jsripc.sdrl.socketDataAck.handle"] = ProtoField.uint32("jsripc.sdrl.socketDataAck.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.sdrl.socketDataAck.reserved"] = ProtoField.bytes("jsripc.sdrl.socketDataAck.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.sdrl.socketDataAck.streamOffset"] = ProtoField.uint64("jsripc.sdrl.socketDataAck.streamOffset", "streamOffset", base.DEC, nil, nil, "Offset up to which data is stored.")
MESSAGES[0x1102] = {
  name = "sdrl.socketDataAck", label = "SOCKET-DATA-ACK", subtype_name = "socketDataAck",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.sdrl.socketDataAck.handle"] },
    { name = "reserved", kind = "reserved", size = 4, field = F["jsripc.sdrl.socketDataAck.reserved"] },
    { name = "streamOffset", kind = "uint64", size = 8, field = F["jsripc.sdrl.socketDataAck.streamOffset"] },
  },
}

-- psrm.tcpState (TCP-STATE): TCP state of one replicated socket.
F["jsripc.psrm.tcpState.handle"] = ProtoField.uint32("jsripc.psrm.tcpState.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.psrm.tcpState.state"] = ProtoField.uint8("jsripc.psrm.tcpState.state", "state", base.DEC, VS.enum_tcpState, nil, "TCP state.")
F["jsripc.psrm.tcpState.windowScale"] = ProtoField.uint8("jsripc.psrm.tcpState.windowScale", "windowScale", base.DEC, nil, nil, "Window scale shift.")
F["jsripc.psrm.tcpState.mss"] = ProtoField.uint16("jsripc.psrm.tcpState.mss", "mss", base.DEC, nil, nil, "Maximum segment size.")
F["jsripc.psrm.tcpState.sndUna"] = ProtoField.uint32("jsripc.psrm.tcpState.sndUna", "sndUna", base.DEC, nil, nil, "Oldest unacknowledged sequence number.")
F["jsripc.psrm.tcpState.sndNxt"] = ProtoField.uint32("jsripc.psrm.tcpState.sndNxt", "sndNxt", base.DEC, nil, nil, "Next sequence number to send.")
F["jsripc.psrm.tcpState.rcvNxt"] = ProtoField.uint32("jsripc.psrm.tcpState.rcvNxt", "rcvNxt", base.DEC, nil, nil, "Next sequence number expected.")
F["jsripc.psrm.tcpState.rcvWindow"] = ProtoField.uint32("jsripc.psrm.tcpState.rcvWindow", "rcvWindow", base.DEC, nil, nil, "Receive window in bytes.")
F["jsripc.psrm.tcpState.tsRecent"] = ProtoField.uint32("jsripc.psrm.tcpState.tsRecent", "tsRecent", base.DEC, nil, nil, "Most recent timestamp value received.")
F["jsripc.psrm.tcpState.rttMicros"] = ProtoField.int32("jsripc.psrm.tcpState.rttMicros", "rttMicros", base.DEC, nil, nil, "Smoothed RTT in microseconds; -1 when unknown.")
MESSAGES[0x1201] = {
  name = "psrm.tcpState", label = "TCP-STATE", subtype_name = "tcpState",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.handle"] },
    { name = "state", kind = "uint", size = 1, field = F["jsripc.psrm.tcpState.state"] },
    { name = "windowScale", kind = "uint", size = 1, field = F["jsripc.psrm.tcpState.windowScale"] },
    { name = "mss", kind = "uint", size = 2, field = F["jsripc.psrm.tcpState.mss"] },
    { name = "sndUna", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.sndUna"] },
    { name = "sndNxt", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.sndNxt"] },
    { name = "rcvNxt", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.rcvNxt"] },
    { name = "rcvWindow", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.rcvWindow"] },
    { name = "tsRecent", kind = "uint", size = 4, field = F["jsripc.psrm.tcpState.tsRecent"] },
    { name = "rttMicros", kind = "int", size = 4, field = F["jsripc.psrm.tcpState.rttMicros"] },
  },
}

-- psrm.stateBatch (STATE-BATCH): TCP state of several sockets at once.
F["jsripc.psrm.stateBatch.entryCount"] = ProtoField.uint16("jsripc.psrm.stateBatch.entryCount", "entryCount", base.DEC, nil, nil, "Number of entries.")
F["jsripc.psrm.stateBatch.reserved"] = ProtoField.bytes("jsripc.psrm.stateBatch.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.psrm.stateBatch.entries"] = ProtoField.none("jsripc.psrm.stateBatch.entries", "entries", "One entry per socket.")
F["jsripc.psrm.stateBatch.entries.handle"] = ProtoField.uint32("jsripc.psrm.stateBatch.entries.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.psrm.stateBatch.entries.state"] = ProtoField.uint8("jsripc.psrm.stateBatch.entries.state", "state", base.DEC, VS.enum_tcpState, nil, "TCP state.")
F["jsripc.psrm.stateBatch.entries.reserved"] = ProtoField.bytes("jsripc.psrm.stateBatch.entries.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.psrm.stateBatch.entries.window"] = ProtoField.uint16("jsripc.psrm.stateBatch.entries.window", "window", base.DEC, nil, nil, "Advertised receive window.")
F["jsripc.psrm.stateBatch.entries.sndNxt"] = ProtoField.uint32("jsripc.psrm.stateBatch.entries.sndNxt", "sndNxt", base.DEC, nil, nil, "Next sequence number to send.")
F["jsripc.psrm.stateBatch.entries.rcvNxt"] = ProtoField.uint32("jsripc.psrm.stateBatch.entries.rcvNxt", "rcvNxt", base.DEC, nil, nil, "Next sequence number expected.")
MESSAGES[0x1202] = {
  name = "psrm.stateBatch", label = "STATE-BATCH", subtype_name = "stateBatch",
  fields = {
    { name = "entryCount", kind = "uint", size = 2, derived = true, field = F["jsripc.psrm.stateBatch.entryCount"] },
    { name = "reserved", kind = "reserved", size = 2, field = F["jsripc.psrm.stateBatch.reserved"] },
    { name = "entries", kind = "array", count = "entryCount", min_item = 16, field = F["jsripc.psrm.stateBatch.entries"],
      fields = {
        { name = "handle", kind = "uint", size = 4, field = F["jsripc.psrm.stateBatch.entries.handle"] },
        { name = "state", kind = "uint", size = 1, field = F["jsripc.psrm.stateBatch.entries.state"] },
        { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.psrm.stateBatch.entries.reserved"] },
        { name = "window", kind = "uint", size = 2, field = F["jsripc.psrm.stateBatch.entries.window"] },
        { name = "sndNxt", kind = "uint", size = 4, field = F["jsripc.psrm.stateBatch.entries.sndNxt"] },
        { name = "rcvNxt", kind = "uint", size = 4, field = F["jsripc.psrm.stateBatch.entries.rcvNxt"] },
      } },
  },
}

-- prl.packet (PACKET): One replicated packet.
F["jsripc.prl.packet.handle"] = ProtoField.uint32("jsripc.prl.packet.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.prl.packet.direction"] = ProtoField.uint8("jsripc.prl.packet.direction", "direction", base.DEC, VS.enum_direction, nil, "Direction.")
F["jsripc.prl.packet.reserved"] = ProtoField.bytes("jsripc.prl.packet.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.prl.packet.ifIndex"] = ProtoField.uint16("jsripc.prl.packet.ifIndex", "ifIndex", base.DEC, nil, nil, "Interface index.")
F["jsripc.prl.packet.timestampNs"] = ProtoField.uint64("jsripc.prl.packet.timestampNs", "timestampNs", base.DEC, nil, nil, "Receive time, nanoseconds since the Unix epoch.")
F["jsripc.prl.packet.packetLength"] = ProtoField.uint32("jsripc.prl.packet.packetLength", "packetLength", base.DEC, nil, nil, "Length of packet in bytes.")
F["jsripc.prl.packet.packet"] = ProtoField.bytes("jsripc.prl.packet.packet", "packet", base.NONE, "Packet bytes from the IP header on.")
MESSAGES[0x2001] = {
  name = "prl.packet", label = "PACKET", subtype_name = "packet",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.prl.packet.handle"] },
    { name = "direction", kind = "uint", size = 1, field = F["jsripc.prl.packet.direction"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.prl.packet.reserved"] },
    { name = "ifIndex", kind = "uint", size = 2, field = F["jsripc.prl.packet.ifIndex"] },
    { name = "timestampNs", kind = "uint64", size = 8, field = F["jsripc.prl.packet.timestampNs"] },
    { name = "packetLength", kind = "uint", size = 4, derived = true, field = F["jsripc.prl.packet.packetLength"] },
    { name = "packet", kind = "bytes", length = "packetLength", field = F["jsripc.prl.packet.packet"] },
  },
}

-- prl.packetDrop (PACKET-DROP): Packets dropped for a handle since the last report.
F["jsripc.prl.packetDrop.handle"] = ProtoField.uint32("jsripc.prl.packetDrop.handle", "handle", base.DEC, nil, nil, "Replicated socket handle.")
F["jsripc.prl.packetDrop.count"] = ProtoField.uint32("jsripc.prl.packetDrop.count", "count", base.DEC, nil, nil, "Dropped packets.")
MESSAGES[0x2002] = {
  name = "prl.packetDrop", label = "PACKET-DROP", subtype_name = "packetDrop",
  fields = {
    { name = "handle", kind = "uint", size = 4, field = F["jsripc.prl.packetDrop.handle"] },
    { name = "count", kind = "uint", size = 4, field = F["jsripc.prl.packetDrop.count"] },
  },
}

-- prl.opaque (OPAQUE): A PRL body that KKCM carries without interpreting it.
F["jsripc.prl.opaque.data"] = ProtoField.bytes("jsripc.prl.opaque.data", "data", base.NONE, "Opaque body: every byte after the header.")
MESSAGES[0x2003] = {
  name = "prl.opaque", label = "OPAQUE", subtype_name = "opaque",
  fields = {
    { name = "data", kind = "bytes", rest = true, field = F["jsripc.prl.opaque.data"] },
  },
}

-- probe.echo (PROBE-ECHO): Delivered to the probe client's message handler, which sends it back as PROBE-ECHO-REPLY: proves whole-message dispatch through a registered client.
F["jsripc.probe.echo.token"] = ProtoField.uint32("jsripc.probe.echo.token", "token", base.DEC, nil, nil, "Opaque token.")
F["jsripc.probe.echo.payloadLength"] = ProtoField.uint32("jsripc.probe.echo.payloadLength", "payloadLength", base.DEC, nil, nil, "Length of payload in bytes.")
F["jsripc.probe.echo.payload"] = ProtoField.bytes("jsripc.probe.echo.payload", "payload", base.NONE, "Bytes returned exactly.")
MESSAGES[0x7f01] = {
  name = "probe.echo", label = "PROBE-ECHO", subtype_name = "echo",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.echo.token"] },
    { name = "payloadLength", kind = "uint", size = 4, derived = true, field = F["jsripc.probe.echo.payloadLength"] },
    { name = "payload", kind = "bytes", length = "payloadLength", field = F["jsripc.probe.echo.payload"] },
  },
}

-- probe.echoReply (PROBE-ECHO-REPLY): The probe client's answer to PROBE-ECHO.
F["jsripc.probe.echoReply.token"] = ProtoField.uint32("jsripc.probe.echoReply.token", "token", base.DEC, nil, nil, "Token of the request.")
F["jsripc.probe.echoReply.payloadLength"] = ProtoField.uint32("jsripc.probe.echoReply.payloadLength", "payloadLength", base.DEC, nil, nil, "Length of payload in bytes.")
F["jsripc.probe.echoReply.payload"] = ProtoField.bytes("jsripc.probe.echoReply.payload", "payload", base.NONE, "Payload of the request.")
MESSAGES[0x7f02] = {
  name = "probe.echoReply", label = "PROBE-ECHO-REPLY", subtype_name = "echoReply",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.echoReply.token"] },
    { name = "payloadLength", kind = "uint", size = 4, derived = true, field = F["jsripc.probe.echoReply.payloadLength"] },
    { name = "payload", kind = "bytes", length = "payloadLength", field = F["jsripc.probe.echoReply.payload"] },
  },
}

-- probe.queryCleanup (PROBE-QUERY-CLEANUP): Asks for the last cleanup reason the probe client's cleanup handler saw.
F["jsripc.probe.queryCleanup.token"] = ProtoField.uint32("jsripc.probe.queryCleanup.token", "token", base.DEC, nil, nil, "Opaque token.")
MESSAGES[0x7f03] = {
  name = "probe.queryCleanup", label = "PROBE-QUERY-CLEANUP", subtype_name = "queryCleanup",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.queryCleanup.token"] },
  },
}

-- probe.cleanupReport (PROBE-CLEANUP-REPORT): The last cleanup the probe client saw, and how many it saw since the peer started.
F["jsripc.probe.cleanupReport.token"] = ProtoField.uint32("jsripc.probe.cleanupReport.token", "token", base.DEC, nil, nil, "Token of the query.")
F["jsripc.probe.cleanupReport.reason"] = ProtoField.uint8("jsripc.probe.cleanupReport.reason", "reason", base.DEC, VS.enum_cleanupReason, nil, "Last cleanup reason, none if no cleanup yet.")
F["jsripc.probe.cleanupReport.reserved"] = ProtoField.bytes("jsripc.probe.cleanupReport.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.probe.cleanupReport.detail"] = ProtoField.uint16("jsripc.probe.cleanupReport.detail", "detail", base.DEC, VS.enum_cleanupDetail, nil, "Detail of the last cleanup.")
F["jsripc.probe.cleanupReport.cleanups"] = ProtoField.uint32("jsripc.probe.cleanupReport.cleanups", "cleanups", base.DEC, nil, nil, "Cleanup calls since the peer started.")
F["jsripc.probe.cleanupReport.sessionId"] = ProtoField.uint64("jsripc.probe.cleanupReport.sessionId", "sessionId", base.DEC, nil, nil, "Session the last cleanup ended, 0 if none.")
MESSAGES[0x7f04] = {
  name = "probe.cleanupReport", label = "PROBE-CLEANUP-REPORT", subtype_name = "cleanupReport",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.cleanupReport.token"] },
    { name = "reason", kind = "uint", size = 1, field = F["jsripc.probe.cleanupReport.reason"] },
    { name = "reserved", kind = "reserved", size = 1, field = F["jsripc.probe.cleanupReport.reserved"] },
    { name = "detail", kind = "uint", size = 2, field = F["jsripc.probe.cleanupReport.detail"] },
    { name = "cleanups", kind = "uint", size = 4, field = F["jsripc.probe.cleanupReport.cleanups"] },
    { name = "sessionId", kind = "uint64", size = 8, field = F["jsripc.probe.cleanupReport.sessionId"] },
  },
}

-- probe.queryTicks (PROBE-QUERY-TICKS): Asks how many periodic calls the probe client received in this session.
F["jsripc.probe.queryTicks.token"] = ProtoField.uint32("jsripc.probe.queryTicks.token", "token", base.DEC, nil, nil, "Opaque token.")
MESSAGES[0x7f05] = {
  name = "probe.queryTicks", label = "PROBE-QUERY-TICKS", subtype_name = "queryTicks",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.queryTicks.token"] },
  },
}

-- probe.ticksReport (PROBE-TICKS-REPORT): Periodic calls the probe client received in this session, and the configured interval.
F["jsripc.probe.ticksReport.token"] = ProtoField.uint32("jsripc.probe.ticksReport.token", "token", base.DEC, nil, nil, "Token of the query.")
F["jsripc.probe.ticksReport.ticks"] = ProtoField.uint32("jsripc.probe.ticksReport.ticks", "ticks", base.DEC, nil, nil, "Periodic handler calls since the session came up.")
F["jsripc.probe.ticksReport.periodicMs"] = ProtoField.uint32("jsripc.probe.ticksReport.periodicMs", "periodicMs", base.DEC, nil, nil, "Configured periodic interval in milliseconds.")
MESSAGES[0x7f06] = {
  name = "probe.ticksReport", label = "PROBE-TICKS-REPORT", subtype_name = "ticksReport",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.ticksReport.token"] },
    { name = "ticks", kind = "uint", size = 4, field = F["jsripc.probe.ticksReport.ticks"] },
    { name = "periodicMs", kind = "uint", size = 4, field = F["jsripc.probe.ticksReport.periodicMs"] },
  },
}

-- probe.burst (PROBE-BURST): Asks the probe client to send count PROBE-BURST-ITEM messages through the ordinary send path, then PROBE-BURST-DONE, on the given channel.
F["jsripc.probe.burst.token"] = ProtoField.uint32("jsripc.probe.burst.token", "token", base.DEC, nil, nil, "Opaque token.")
F["jsripc.probe.burst.channel"] = ProtoField.uint8("jsripc.probe.burst.channel", "channel", base.DEC, VS.enum_channel, nil, "Channel to send the burst on.")
F["jsripc.probe.burst.reserved"] = ProtoField.bytes("jsripc.probe.burst.reserved", "reserved", base.NONE, "Must be zero.")
F["jsripc.probe.burst.count"] = ProtoField.uint32("jsripc.probe.burst.count", "count", base.DEC, nil, nil, "Number of items.")
F["jsripc.probe.burst.itemSize"] = ProtoField.uint32("jsripc.probe.burst.itemSize", "itemSize", base.DEC, nil, nil, "Payload bytes per item.")
MESSAGES[0x7f07] = {
  name = "probe.burst", label = "PROBE-BURST", subtype_name = "burst",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.burst.token"] },
    { name = "channel", kind = "uint", size = 1, field = F["jsripc.probe.burst.channel"] },
    { name = "reserved", kind = "reserved", size = 3, field = F["jsripc.probe.burst.reserved"] },
    { name = "count", kind = "uint", size = 4, field = F["jsripc.probe.burst.count"] },
    { name = "itemSize", kind = "uint", size = 4, field = F["jsripc.probe.burst.itemSize"] },
  },
}

-- probe.burstItem (PROBE-BURST-ITEM): One item of a burst; index counts from 0; payload byte i is (index + i) mod 256.
F["jsripc.probe.burstItem.token"] = ProtoField.uint32("jsripc.probe.burstItem.token", "token", base.DEC, nil, nil, "Token of the burst request.")
F["jsripc.probe.burstItem.index"] = ProtoField.uint32("jsripc.probe.burstItem.index", "index", base.DEC, nil, nil, "Item index.")
F["jsripc.probe.burstItem.payloadLength"] = ProtoField.uint32("jsripc.probe.burstItem.payloadLength", "payloadLength", base.DEC, nil, nil, "Length of payload in bytes.")
F["jsripc.probe.burstItem.payload"] = ProtoField.bytes("jsripc.probe.burstItem.payload", "payload", base.NONE, "Pattern bytes.")
MESSAGES[0x7f08] = {
  name = "probe.burstItem", label = "PROBE-BURST-ITEM", subtype_name = "burstItem",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.burstItem.token"] },
    { name = "index", kind = "uint", size = 4, field = F["jsripc.probe.burstItem.index"] },
    { name = "payloadLength", kind = "uint", size = 4, derived = true, field = F["jsripc.probe.burstItem.payloadLength"] },
    { name = "payload", kind = "bytes", length = "payloadLength", field = F["jsripc.probe.burstItem.payload"] },
  },
}

-- probe.burstDone (PROBE-BURST-DONE): End of a burst.
F["jsripc.probe.burstDone.token"] = ProtoField.uint32("jsripc.probe.burstDone.token", "token", base.DEC, nil, nil, "Token of the burst request.")
F["jsripc.probe.burstDone.count"] = ProtoField.uint32("jsripc.probe.burstDone.count", "count", base.DEC, nil, nil, "Items sent.")
MESSAGES[0x7f09] = {
  name = "probe.burstDone", label = "PROBE-BURST-DONE", subtype_name = "burstDone",
  fields = {
    { name = "token", kind = "uint", size = 4, field = F["jsripc.probe.burstDone.token"] },
    { name = "count", kind = "uint", size = 4, field = F["jsripc.probe.burstDone.count"] },
  },
}

jsripc.fields = {
  HF.magic, HF.version, HF.flags, HF.type,
  HF.subtype, HF.length, HF.seq, HF.flags_reserved,
  HF.msg, HF.channel, HF.body, HF.trailing,
  HF.undecoded, FLAGS[1].field, FLAGS[2].field, F["jsripc.control.hello.minVersion"],
  F["jsripc.control.hello.maxVersion"], F["jsripc.control.hello.role"], F["jsripc.control.hello.channel"], F["jsripc.control.hello.features"],
  F["jsripc.control.hello.nodeId"], F["jsripc.control.hello.maxMessage"], F["jsripc.control.hello.sessionId"], F["jsripc.control.hello.nodeNameLength"],
  F["jsripc.control.hello.nodeName"], F["jsripc.control.helloAck.version"], F["jsripc.control.helloAck.role"], F["jsripc.control.helloAck.channel"],
  F["jsripc.control.helloAck.reserved"], F["jsripc.control.helloAck.features"], F["jsripc.control.helloAck.nodeId"], F["jsripc.control.helloAck.maxMessage"],
  F["jsripc.control.helloAck.sessionId"], F["jsripc.control.helloAck.nodeNameLength"], F["jsripc.control.helloAck.nodeName"], F["jsripc.control.helloReject.reason"],
  F["jsripc.control.helloReject.minVersion"], F["jsripc.control.helloReject.maxVersion"], F["jsripc.control.helloReject.retryAfterMs"], F["jsripc.control.helloReject.textLength"],
  F["jsripc.control.helloReject.text"], F["jsripc.control.echoRequest.token"], F["jsripc.control.echoRequest.payloadLength"], F["jsripc.control.echoRequest.payload"],
  F["jsripc.control.echoReply.token"], F["jsripc.control.echoReply.payloadLength"], F["jsripc.control.echoReply.payload"], F["jsripc.control.error.code"],
  F["jsripc.control.error.reserved"], F["jsripc.control.error.offendingSeq"], F["jsripc.control.error.offendingType"], F["jsripc.control.error.offendingSubtype"],
  F["jsripc.control.error.textLength"], F["jsripc.control.error.text"], F["jsripc.control.shutdown.reason"], F["jsripc.control.shutdown.reserved"],
  F["jsripc.control.shutdown.detail"], F["jsripc.control.shutdown.textLength"], F["jsripc.control.shutdown.text"], F["jsripc.control.ack.upTo"],
  F["jsripc.control.nack.seq"], F["jsripc.control.nack.code"], F["jsripc.control.nack.reserved"], F["jsripc.iha.handleSetupV4.handle"],
  F["jsripc.iha.handleSetupV4.protocol"], F["jsripc.iha.handleSetupV4.reserved"], F["jsripc.iha.handleSetupV4.localPort"], F["jsripc.iha.handleSetupV4.remotePort"],
  F["jsripc.iha.handleSetupV4.reserved2"], F["jsripc.iha.handleSetupV4.localAddress"], F["jsripc.iha.handleSetupV4.remoteAddress"], F["jsripc.iha.handleSetupV4.appNameLength"],
  F["jsripc.iha.handleSetupV4.appName"], F["jsripc.iha.handleSetupV6.handle"], F["jsripc.iha.handleSetupV6.protocol"], F["jsripc.iha.handleSetupV6.reserved"],
  F["jsripc.iha.handleSetupV6.localPort"], F["jsripc.iha.handleSetupV6.remotePort"], F["jsripc.iha.handleSetupV6.reserved2"], F["jsripc.iha.handleSetupV6.localAddress"],
  F["jsripc.iha.handleSetupV6.remoteAddress"], F["jsripc.iha.handleSetupV6.appNameLength"], F["jsripc.iha.handleSetupV6.appName"], F["jsripc.iha.handleTeardown.handle"],
  F["jsripc.iha.handleTeardown.reason"], F["jsripc.iha.handleTeardown.reserved"], F["jsripc.iha.asyncNotify.handle"], F["jsripc.iha.asyncNotify.event"],
  F["jsripc.iha.asyncNotify.reserved"], F["jsripc.iha.asyncNotify.value"], F["jsripc.sdrl.socketData.handle"], F["jsripc.sdrl.socketData.streamOffset"],
  F["jsripc.sdrl.socketData.dataLength"], F["jsripc.sdrl.socketData.data"], F["jsripc.sdrl.socketDataAck.handle"], F["jsripc.sdrl.socketDataAck.reserved"],
  F["jsripc.sdrl.socketDataAck.streamOffset"], F["jsripc.psrm.tcpState.handle"], F["jsripc.psrm.tcpState.state"], F["jsripc.psrm.tcpState.windowScale"],
  F["jsripc.psrm.tcpState.mss"], F["jsripc.psrm.tcpState.sndUna"], F["jsripc.psrm.tcpState.sndNxt"], F["jsripc.psrm.tcpState.rcvNxt"],
  F["jsripc.psrm.tcpState.rcvWindow"], F["jsripc.psrm.tcpState.tsRecent"], F["jsripc.psrm.tcpState.rttMicros"], F["jsripc.psrm.stateBatch.entryCount"],
  F["jsripc.psrm.stateBatch.reserved"], F["jsripc.psrm.stateBatch.entries"], F["jsripc.psrm.stateBatch.entries.handle"], F["jsripc.psrm.stateBatch.entries.state"],
  F["jsripc.psrm.stateBatch.entries.reserved"], F["jsripc.psrm.stateBatch.entries.window"], F["jsripc.psrm.stateBatch.entries.sndNxt"], F["jsripc.psrm.stateBatch.entries.rcvNxt"],
  F["jsripc.prl.packet.handle"], F["jsripc.prl.packet.direction"], F["jsripc.prl.packet.reserved"], F["jsripc.prl.packet.ifIndex"],
  F["jsripc.prl.packet.timestampNs"], F["jsripc.prl.packet.packetLength"], F["jsripc.prl.packet.packet"], F["jsripc.prl.packetDrop.handle"],
  F["jsripc.prl.packetDrop.count"], F["jsripc.prl.opaque.data"], F["jsripc.probe.echo.token"], F["jsripc.probe.echo.payloadLength"],
  F["jsripc.probe.echo.payload"], F["jsripc.probe.echoReply.token"], F["jsripc.probe.echoReply.payloadLength"], F["jsripc.probe.echoReply.payload"],
  F["jsripc.probe.queryCleanup.token"], F["jsripc.probe.cleanupReport.token"], F["jsripc.probe.cleanupReport.reason"], F["jsripc.probe.cleanupReport.reserved"],
  F["jsripc.probe.cleanupReport.detail"], F["jsripc.probe.cleanupReport.cleanups"], F["jsripc.probe.cleanupReport.sessionId"], F["jsripc.probe.queryTicks.token"],
  F["jsripc.probe.ticksReport.token"], F["jsripc.probe.ticksReport.ticks"], F["jsripc.probe.ticksReport.periodicMs"], F["jsripc.probe.burst.token"],
  F["jsripc.probe.burst.channel"], F["jsripc.probe.burst.reserved"], F["jsripc.probe.burst.count"], F["jsripc.probe.burst.itemSize"],
  F["jsripc.probe.burstItem.token"], F["jsripc.probe.burstItem.index"], F["jsripc.probe.burstItem.payloadLength"], F["jsripc.probe.burstItem.payload"],
  F["jsripc.probe.burstDone.token"], F["jsripc.probe.burstDone.count"],
}

-- ------------------------------------------------------------------------------------------
-- The fixed part of the dissector: stream framing, the layout interpreter, conversation
-- state and registration. docs/tools/dissector.ts appends it, unchanged, after the tables
-- it generates from the spec (MESSAGES, TYPES, F, HF, EI and the constants).
--
-- Rules this code keeps: every read is checked against the bytes present first, so a
-- malformed message becomes expert info and never a Lua error; nothing is printed (tshark
-- writes its output to the same stdout); the only state outliving a packet is per TCP
-- stream, and what a message saw of it is remembered per frame, so a second pass or a click
-- in Wireshark shows the same result as the first pass.
-- ------------------------------------------------------------------------------------------

local ONE_MORE_SEGMENT = DESEGMENT_ONE_MORE_SEGMENT or 0x0fffffff

jsripc.prefs.tcp_port = Pref.uint("TCP port", DEFAULT_PORT,
  "TCP port of KKCM connections (the master's listening port). 0 turns the port off; the heuristic dissector still finds KKCM streams by their magic.")
jsripc.prefs.max_message = Pref.uint("Largest message (bytes)", DEFAULT_MAX_MESSAGE,
  "Largest message, header included, the receiver accepts. A longer header is shown as ERR_FRAME_TOO_LARGE and the rest of the segment is not decoded. Raise it for peers configured with a larger limit.")

local tcp_stream_field = Field.new("tcp.stream")

-- Per TCP stream: { channel = id or nil, version = negotiated or nil, next_seq = { [direction] = n } }.
local streams = {}
-- What each message saw of its stream's state, by "frame:index".
local snapshots = {}

function jsripc.init()
  streams = {}
  snapshots = {}
end

-- ---------------------------------------------------------------- small helpers

-- Adds the expert info of a spec error code to item and remembers the code for the Info column.
local function report(problems, item, code, text)
  item:add_proto_expert_info(EI[code], code .. ": " .. text)
  problems[#problems + 1] = code
end

-- True when the Lua string s is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
local function utf8_valid(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    if c < 0x80 then
      i = i + 1
    elseif c >= 0xC2 and c <= 0xDF then
      local c2 = s:byte(i + 1)
      if c2 == nil or c2 < 0x80 or c2 > 0xBF then return false end
      i = i + 2
    elseif c >= 0xE0 and c <= 0xEF then
      local c2, c3 = s:byte(i + 1, i + 2)
      if c3 == nil then return false end
      local lo, hi = 0x80, 0xBF
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
      if c2 < lo or c2 > hi or c3 < 0x80 or c3 > 0xBF then return false end
      i = i + 3
    elseif c >= 0xF0 and c <= 0xF4 then
      local c2, c3, c4 = s:byte(i + 1, i + 3)
      if c4 == nil then return false end
      local lo, hi = 0x80, 0xBF
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
      if c2 < lo or c2 > hi or c3 < 0x80 or c3 > 0xBF or c4 < 0x80 or c4 > 0xBF then return false end
      i = i + 4
    else
      return false
    end
  end
  return true
end

-- Bit b (0 = least significant) of the number v, without the bit library (Lua 5.2 to 5.4).
local function bit_set(v, b)
  return math.floor(v / 2 ^ b) % 2 == 1
end

local function all_zero(tvb, offset, size)
  for i = 0, size - 1 do
    if tvb(offset + i, 1):uint() ~= 0 then return false end
  end
  return true
end

-- ---------------------------------------------------------------- the layout interpreter

local read_fields

-- Adds a field whose bytes are not all there, as text, with the error that explains it.
local function short_field(problems, tvb, tree, offset, stop, fd, path, code, need)
  local have = stop - offset
  local item = tree:add(tvb(offset, have), string.format("%s: %d of %d bytes present", fd.name, have, need))
  report(problems, item, code, string.format("%s needs %d bytes, the body has %d left", path, need, have))
end

-- Reads one field at offset; returns the offset after it, or nil when decoding stops (the
-- reason is already in the tree as expert info). env holds the integer values read so far
-- in the same field list, for the length and count fields that later fields refer to.
local function read_field(problems, tvb, tree, offset, stop, fd, env, path)
  local kind = fd.kind
  if kind == "array" then
    local count = env[fd.count] or 0
    local item = tree:add(fd.field, tvb(offset, 0))
    if count * fd.min_item > stop - offset then
      item:set_len(stop - offset)
      report(problems, item, "ERR_BAD_COUNT", string.format("%s announces %d items of at least %d bytes, the body has %d left", path, count, fd.min_item, stop - offset))
      return nil
    end
    item:append_text(string.format(" (%d)", count))
    local at = offset
    for i = 0, count - 1 do
      local entry = item:add(tvb(at, 0), string.format("%s[%d]", fd.name, i))
      local after = read_fields(problems, tvb, entry, at, stop, fd.fields, string.format("%s[%d]", path, i))
      if after == nil then return nil end
      entry:set_len(after - at)
      at = after
    end
    item:set_len(at - offset)
    return at
  elseif kind == "struct" then
    local item = tree:add(fd.field, tvb(offset, 0))
    local after = read_fields(problems, tvb, item, offset, stop, fd.fields, path)
    if after == nil then return nil end
    item:set_len(after - offset)
    return after
  end
  local size = fd.size
  if fd.length ~= nil then
    size = env[fd.length] or 0
  elseif fd.rest then
    size = stop - offset
  end
  if size > stop - offset then
    short_field(problems, tvb, tree, offset, stop, fd, path, fd.length ~= nil and "ERR_BAD_LENGTH_FIELD" or "ERR_TRUNCATED_BODY", size)
    return nil
  end
  local range = tvb(offset, size)
  if kind == "string" then
    local item = tree:add_packet_field(fd.field, range, ENC_UTF_8)
    if not utf8_valid(range:raw()) then
      report(problems, item, "ERR_BAD_UTF8", path .. " is not valid UTF-8")
    end
  elseif kind == "reserved" then
    local item = tree:add(fd.field, range)
    if not all_zero(tvb, offset, size) then
      report(problems, item, "ERR_RESERVED_NONZERO", path .. " must be zero")
    end
  else
    tree:add(fd.field, range)
    if kind == "uint" then
      env[fd.name] = range:uint()
    elseif kind == "uint64" and fd.derived then
      env[fd.name] = range:uint64():tonumber()
    end
  end
  return offset + size
end

read_fields = function(problems, tvb, tree, offset, stop, fields, path)
  local env = {}
  local at = offset
  for _, fd in ipairs(fields) do
    at = read_field(problems, tvb, tree, at, stop, fd, env, path .. "." .. fd.name)
    if at == nil then return nil, env end
  end
  return at, env
end

-- What a client body is shown with when it does not fit its illustrative layout: a note, not
-- an error, for client data is opaque to KKCM [KKCM-DISP-3].
local MISFIT_NOTE = "body does not fit the illustrative layout: "

-- A tree that keeps nothing but the texts of its expert infos: read_fields walks a client
-- body with it first, because an item once added to the real tree cannot be taken back.
local function dry_tree()
  local t = { notes = {} }
  function t.add() return t end
  t.add_packet_field = t.add
  function t.set_len() end
  t.append_text = t.set_len
  function t.add_proto_expert_info(_, _, text) t.notes[#t.notes + 1] = text end
  return t
end

-- Why a body does not fit the layout of minfo ("ERR_TRAILING_BYTES: ..."), or nil when it fits.
local function misfit(tvb, length, minfo)
  local dry = dry_tree()
  -- Reserved bytes and UTF-8 are reported without stopping the walk: the first note says why.
  local after = read_fields({}, tvb, dry, HEADER_SIZE, length, minfo.fields, "body")
  if dry.notes[1] ~= nil then return dry.notes[1] end
  if after < length then
    return string.format("ERR_TRAILING_BYTES: %d bytes after the end of the layout", length - after)
  end
  return nil
end

-- ---------------------------------------------------------------- stream state

local function stream_of(pinfo)
  local all = { tcp_stream_field() }
  local last = all[#all]
  local key = last ~= nil and tostring(last.value) or (tostring(pinfo.src) .. ":" .. pinfo.src_port .. "|" .. tostring(pinfo.dst) .. ":" .. pinfo.dst_port)
  local state = streams[key]
  if state == nil then
    state = { next_seq = {} }
    streams[key] = state
  end
  return state, tostring(pinfo.src) .. ":" .. pinfo.src_port
end

-- The stream state this message saw: taken on its first dissection, replayed on every later
-- one. Returns the snapshot, and the live state when this is the first dissection (the
-- caller may then update it), else nil. Messages are counted per frame in pinfo.private,
-- which lives exactly as long as one dissection of one frame.
local function snapshot(pinfo, seq)
  local index = tonumber(pinfo.private.jsripc_index or "0")
  pinfo.private.jsripc_index = tostring(index + 1)
  local key = pinfo.number .. ":" .. index
  local snap = snapshots[key]
  if snap ~= nil then return snap, nil end
  local state, direction = stream_of(pinfo)
  snap = { channel = state.channel, version = state.version, expected_seq = state.next_seq[direction] }
  snapshots[key] = snap
  state.next_seq[direction] = (seq + 1) % 4294967296
  return snap, state
end

-- ---------------------------------------------------------------- one message

-- Sets or extends the Info column with one message's summary and the codes of its problems.
local function info(pinfo, text, problems)
  if #problems > 0 then text = text .. " (" .. table.concat(problems, ", ") .. ")" end
  if pinfo.private.jsripc_info == nil then
    pinfo.cols.info:set(text)
    pinfo.private.jsripc_info = "1"
  else
    pinfo.cols.info:append(", " .. text)
  end
end

-- Checks a whole header, adding the codes of the problems found to problems.
local function check_header(problems, h, snap, items)
  local function problem(item, code, text)
    report(problems, item, code, text)
  end
  if not (h.minfo ~= nil and h.minfo.handshake) then
    -- Handshake messages (the spec's "handshake" marks: HELLO and its answers) keep one
    -- layout in every version: any version is read. MESSAGES[...].handshake says which.
    if h.version < VERSION_MIN or h.version > VERSION_MAX then
      problem(items.version, "ERR_UNSUPPORTED_VERSION", string.format("version %d, this dissector knows %d..%d", h.version, VERSION_MIN, VERSION_MAX))
    elseif snap.version ~= nil and h.version ~= snap.version then
      problem(items.version, "ERR_UNSUPPORTED_VERSION", string.format("version %d, the handshake negotiated %d", h.version, snap.version))
    end
  end
  for b = 0, 7 do
    if bit_set(h.flags, b) and not KNOWN_FLAG_BITS[b] then
      problem(items.flags, "ERR_RESERVED_FLAG", string.format("reserved flag bit %d is set", b))
    end
  end
  if snap.expected_seq ~= nil and h.seq ~= snap.expected_seq then
    problem(items.seq, "ERR_BAD_SEQUENCE", string.format("seq %d, expected %d", h.seq, snap.expected_seq))
  end
  if h.length < HEADER_SIZE then
    problem(items.length, "ERR_LENGTH_TOO_SMALL", string.format("length %d is below the header size %d: the rest of the stream cannot be framed", h.length, HEADER_SIZE))
  elseif h.length > jsripc.prefs.max_message then
    problem(items.length, "ERR_FRAME_TOO_LARGE", string.format("length %d exceeds the largest message, %d (preference jsripc.max_message)", h.length, jsripc.prefs.max_message))
  end
  local may_ignore = bit_set(h.flags, MAY_IGNORE_BIT)
  if h.tinfo == nil then
    if may_ignore then
      items.type:add_proto_expert_info(EI.skipped, "unknown type, skipped: mayIgnore is set")
    else
      problem(items.type, "ERR_UNKNOWN_TYPE", string.format("type %d is unknown and mayIgnore is clear", h.type))
    end
    return
  end
  if h.channel ~= nil and not h.tinfo.channels[h.channel] then
    problem(items.type, "ERR_WRONG_CHANNEL", string.format("%s messages do not travel on the %s channel", h.tinfo.name, CHANNELS[h.channel] or tostring(h.channel)))
  end
  if h.minfo == nil then
    if may_ignore then
      items.subtype:add_proto_expert_info(EI.skipped, "unknown subtype, skipped: mayIgnore is set")
    elseif h.tinfo.opaque then
      -- Every subtype of a client-owned type is its client's to define [KKCM-DISP-3].
      items.subtype:add_proto_expert_info(EI.illustrative_misfit, MISFIT_NOTE .. string.format("ERR_UNKNOWN_SUBTYPE: subtype %d of type %s has no layout in the spec", h.subtype, h.tinfo.name))
    else
      problem(items.subtype, "ERR_UNKNOWN_SUBTYPE", string.format("subtype %d of type %s is unknown and mayIgnore is clear", h.subtype, h.tinfo.name))
    end
  end
end

-- Dissects one message, of which `have` bytes are at `offset` in `whole`: fewer than its
-- length only when the stream cannot be reassembled or the header is bad.
local function dissect_message(whole, offset, have, pinfo, root)
  local tvb = whole(offset, have):tvb()
  local tree = root:add(jsripc, tvb(0, have))
  local problems = {}
  local items = {}
  for _, f in ipairs(HEADER_FIELDS) do
    if f.offset + f.size <= have then items[f.name] = tree:add(HF[f.name], tvb(f.offset, f.size)) end
  end

  local head = math.min(4, have)
  if tvb(0, head):uint() ~= math.floor(MAGIC / 256 ^ (4 - head)) then
    report(problems, items.magic or tree, "ERR_BAD_MAGIC", string.format("the stream is not at a message boundary: %d bytes left undecoded", have))
    if have > 4 then tree:add(HF.undecoded, tvb(4, have - 4)) end
    tree:append_text(", bad magic")
    info(pinfo, "bad magic", problems)
    return
  end
  if have < HEADER_SIZE then
    report(problems, tree, "ERR_STREAM_TRUNCATED", string.format("the capture ends %d bytes into a header", have))
    tree:append_text(", truncated header")
    info(pinfo, "truncated header", problems)
    return
  end

  local h = {
    version = tvb(HDR.version, 1):uint(), flags = tvb(HDR.flags, 1):uint(), type = tvb(HDR.type, 1):uint(),
    subtype = tvb(HDR.subtype, 1):uint(), length = tvb(HDR.length, 4):uint(), seq = tvb(HDR.seq, 4):uint(),
  }
  h.tinfo = TYPES[h.type]
  h.minfo = MESSAGES[h.type * 256 + h.subtype]
  local snap, live = snapshot(pinfo, h.seq)
  -- Which channel this stream carries: from its handshake, else the one its type travels on.
  h.channel = snap.channel
  if h.channel == nil and h.tinfo ~= nil then h.channel = h.tinfo.only_channel end

  for _, f in ipairs(FLAGS) do items.flags:add(f.field, tvb(HDR.flags, 1)) end
  items.flags:add(HF.flags_reserved, tvb(HDR.flags, 1))
  local label
  if h.minfo ~= nil then
    label = h.minfo.label
    items.subtype:append_text(" (" .. h.minfo.subtype_name .. ")")
    tree:add(HF.msg, tvb(HDR.type, 2), h.minfo.name):set_generated()
  elseif h.tinfo ~= nil then
    label = string.format("%s subtype %d", h.tinfo.name, h.subtype)
  else
    label = string.format("type %d/%d", h.type, h.subtype)
  end
  if h.minfo == nil and bit_set(h.flags, MAY_IGNORE_BIT) then label = label .. " skipped" end
  check_header(problems, h, snap, items)

  -- Summary in the protocol item and the Info column, once the channel is known.
  local function finish()
    local text = string.format("%s seq=%d", label, h.seq)
    if h.channel ~= nil then
      tree:add(HF.channel, tvb(HDR.type, 1), h.channel):set_generated()
      text = text .. " [" .. (CHANNELS[h.channel] or tostring(h.channel)) .. "]"
    end
    tree:append_text(", " .. text)
    info(pinfo, text, problems)
  end

  if h.length < HEADER_SIZE or h.length > jsripc.prefs.max_message then
    if have > HEADER_SIZE then tree:add(HF.undecoded, tvb(HEADER_SIZE, have - HEADER_SIZE)) end
    return finish()
  end
  if have < h.length then
    if have > HEADER_SIZE then tree:add(HF.body, tvb(HEADER_SIZE, have - HEADER_SIZE)) end
    report(problems, tree, "ERR_STREAM_TRUNCATED", string.format("the capture holds %d of the message's %d bytes", have, h.length))
    return finish()
  end

  local body = tree:add(HF.body, tvb(HEADER_SIZE, h.length - HEADER_SIZE))
  local why = h.minfo ~= nil and h.tinfo.opaque and misfit(tvb, h.length, h.minfo) or nil
  if why ~= nil then
    -- A client body that does not fit stays raw bytes under its header, with a note.
    body:add_proto_expert_info(EI.illustrative_misfit, MISFIT_NOTE .. why)
  elseif h.minfo ~= nil then
    local after, env = read_fields(problems, tvb, body, HEADER_SIZE, h.length, h.minfo.fields, "body")
    if after ~= nil and after < h.length then
      local trailing = body:add(HF.trailing, tvb(after, h.length - after))
      report(problems, trailing, "ERR_TRAILING_BYTES", string.format("%d bytes after the end of the layout", h.length - after))
    elseif after ~= nil then
      -- The handshake tells which channel the stream carries and the version it speaks, in
      -- the body fields the spec names (sets_channel, sets_version).
      local announced = h.minfo.sets_channel ~= nil and env[h.minfo.sets_channel] or nil
      if CHANNELS[announced] ~= nil then h.channel = announced end
      if live ~= nil then
        if CHANNELS[announced] ~= nil then live.channel = announced end
        if h.minfo.sets_version ~= nil then live.version = env[h.minfo.sets_version] end
      end
    end
  end
  finish()
end

-- ---------------------------------------------------------------- the stream

-- Splits a TCP payload into messages; asks TCP for more bytes when the last one is not all
-- there. The bytes a message takes come from its header alone, so one bad header stops the
-- framing: the rest of the segment is shown undecoded under it.
function jsripc.dissector(tvb, pinfo, tree)
  local total = tvb:len()
  local offset = 0
  pinfo.cols.protocol = "JSRIPC"
  while offset < total do
    local have = total - offset
    local head = math.min(4, have)
    local magic_ok = tvb(offset, head):uint() == math.floor(MAGIC / 256 ^ (4 - head))
    local length = nil
    if magic_ok and have >= HEADER_SIZE then length = tvb(offset + HDR.length, 4):uint() end
    local framable = length ~= nil and length >= HEADER_SIZE and length <= jsripc.prefs.max_message
    if magic_ok and have < HEADER_SIZE and pinfo.can_desegment > 0 then
      pinfo.desegment_offset = offset
      pinfo.desegment_len = ONE_MORE_SEGMENT
      return total
    end
    if framable and have < length and pinfo.can_desegment > 0 then
      pinfo.desegment_offset = offset
      pinfo.desegment_len = length - have
      return total
    end
    local take = have
    if framable and length < have then take = length end
    local ok, err = pcall(dissect_message, tvb, offset, take, pinfo, tree)
    if not ok then
      tree:add_proto_expert_info(EI.dissector_bug, "dissector bug, please report: " .. tostring(err))
    end
    if not framable then return total end
    offset = offset + take
  end
  return total
end

local registered_port = 0

local function register_port()
  local ports = DissectorTable.get("tcp.port")
  if registered_port ~= 0 then ports:remove(registered_port, jsripc) end
  registered_port = jsripc.prefs.tcp_port
  if registered_port ~= 0 then ports:add(registered_port, jsripc) end
end

jsripc.prefs_changed = register_port
register_port()

-- Claims a TCP stream on any port whose payload starts with a header: the magic, a version
-- this dissector knows and a length of at least a header.
local function heuristic(tvb, pinfo, tree)
  if tvb:len() < HEADER_SIZE then return false end
  if tvb(0, 4):uint() ~= MAGIC then return false end
  local version = tvb(HDR.version, 1):uint()
  if version < VERSION_MIN or version > VERSION_MAX then return false end
  if tvb(HDR.length, 4):uint() < HEADER_SIZE then return false end
  pinfo.conversation = jsripc
  jsripc.dissector(tvb, pinfo, tree)
  return true
end

jsripc:register_heuristic("tcp", heuristic)
