-- Minimal HEPv3 (HEP/EEP) dissector for tshark/Wireshark builds that have
-- no built-in HEP dissector (Debian's tshark 4.0 has none).
-- Decodes the chunk list and hands the payload (chunk type 15) to the SIP
-- dissector when the protocol type chunk (11) says SIP (1).
-- usage: tshark -X lua_script:tools/captures/hep3.lua -r hep-kamailio.pcapng
--        (registers itself on UDP/TCP port 9060; also `-d udp.port==N,hep`)
local hep = Proto("hep", "HEP3 Homer Encapsulation Protocol (phonewarden lab dissector)")

local f = hep.fields
f.version   = ProtoField.string("hep.version", "Version")
f.length    = ProtoField.uint16("hep.length", "Total length")
f.family    = ProtoField.uint8("hep.ip_family", "IP family", base.DEC, {[2]="IPv4", [10]="IPv6"})
f.proto     = ProtoField.uint8("hep.ip_proto", "IP protocol", base.DEC, {[6]="TCP", [17]="UDP", [132]="SCTP"})
f.src4      = ProtoField.ipv4("hep.src_ip4", "Source IPv4")
f.dst4      = ProtoField.ipv4("hep.dst_ip4", "Destination IPv4")
f.src6      = ProtoField.ipv6("hep.src_ip6", "Source IPv6")
f.dst6      = ProtoField.ipv6("hep.dst_ip6", "Destination IPv6")
f.sport     = ProtoField.uint16("hep.src_port", "Source port")
f.dport     = ProtoField.uint16("hep.dst_port", "Destination port")
f.ts_sec    = ProtoField.uint32("hep.ts_sec", "Timestamp seconds")
f.ts_usec   = ProtoField.uint32("hep.ts_usec", "Timestamp microseconds")
f.ptype     = ProtoField.uint8("hep.proto_type", "Protocol type", base.DEC, {[1]="SIP", [5]="RTCP", [100]="LOG"})
f.capid     = ProtoField.uint32("hep.capture_id", "Capture agent ID")
f.keepalive = ProtoField.uint16("hep.keepalive", "Keep-alive timer")
f.authkey   = ProtoField.string("hep.auth_key", "Authentication key")
f.payload   = ProtoField.bytes("hep.payload", "Payload")
f.corr      = ProtoField.string("hep.correlation_id", "Correlation ID")
f.node      = ProtoField.string("hep.node_name", "Node name")
f.ctype     = ProtoField.uint16("hep.chunk_type", "Chunk type")
f.clen      = ProtoField.uint16("hep.chunk_length", "Chunk length")

local sip = Dissector.get("sip")

function hep.dissector(tvb, pinfo, tree)
    if tvb:len() < 6 or tvb(0, 4):string() ~= "HEP3" then return 0 end
    local total = tvb(4, 2):uint()
    if total > tvb:len() then total = tvb:len() end
    pinfo.cols.protocol = "HEP3"
    local t = tree:add(hep, tvb(0, total))
    t:add(f.version, tvb(0, 4))
    t:add(f.length, tvb(4, 2))
    local off, ptype, payload = 6, nil, nil
    while off + 6 <= total do
        local ctype = tvb(off + 2, 2):uint()
        local clen = tvb(off + 4, 2):uint()
        if clen < 6 or off + clen > total then break end
        local v = tvb(off + 6, clen - 6)
        local c = t:add(hep, tvb(off, clen), "Chunk " .. ctype)
        c:add(f.ctype, tvb(off + 2, 2))
        c:add(f.clen, tvb(off + 4, 2))
        if ctype == 1 then c:add(f.family, v)
        elseif ctype == 2 then c:add(f.proto, v)
        elseif ctype == 3 then c:add(f.src4, v)
        elseif ctype == 4 then c:add(f.dst4, v)
        elseif ctype == 5 then c:add(f.src6, v)
        elseif ctype == 6 then c:add(f.dst6, v)
        elseif ctype == 7 then c:add(f.sport, v)
        elseif ctype == 8 then c:add(f.dport, v)
        elseif ctype == 9 then c:add(f.ts_sec, v)
        elseif ctype == 10 then c:add(f.ts_usec, v)
        elseif ctype == 11 then c:add(f.ptype, v); ptype = v:uint()
        elseif ctype == 12 then c:add(f.capid, v)
        elseif ctype == 13 then c:add(f.keepalive, v)
        elseif ctype == 14 then c:add(f.authkey, v)
        elseif ctype == 15 then c:add(f.payload, v); payload = v
        elseif ctype == 17 then c:add(f.corr, v)
        elseif ctype == 19 then c:add(f.node, v)
        end
        off = off + clen
    end
    if payload ~= nil and ptype == 1 and sip ~= nil then
        sip:call(payload:tvb(), pinfo, tree)
    end
    return total
end

DissectorTable.get("udp.port"):add(9060, hep)
DissectorTable.get("tcp.port"):add(9060, hep)
