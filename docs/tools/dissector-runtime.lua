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
