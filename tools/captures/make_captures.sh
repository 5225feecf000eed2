#!/usr/bin/env bash
# Regenerate the real-traffic captures in tests/data/captures/.
#
# Every peer is a real program (Kamailio 5.6, SIPp, SIPVicious, dig, curl,
# openssl s_server, small python servers) talking over loopback, or over a
# veth pair between two network namespaces this script creates (198.51.100.0/24).
# No other address is ever contacted. Every capture is bounded by
# `tshark -a duration:N` and every peer by `timeout`.
#
# usage: sudo tools/captures/make_captures.sh [NAME ...]
#   NAME: sip-udp sip-tcp sip-ipv6 sip-fragmented hep-kamailio
#         sip-scan-sipvicious hep-sip-scan-sipvicious mixed-dns-tls-http
#         (default: all)
# env:   OUT=dir (default tests/data/captures)  SIPVICIOUS_BIN=dir
#        (default .venv/bin)  DNS_PORT=53 TLS_PORT=443 HTTP_PORT=8080
#
# needs (Debian): kamailio sip-tester tshark bind9-dnsutils curl openssl
#                 iproute2 python3; SIPVicious from the project venv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/tests/data/captures}
SIPVICIOUS_BIN=${SIPVICIOUS_BIN:-$ROOT/.venv/bin}
DNS_PORT=${DNS_PORT:-53}
TLS_PORT=${TLS_PORT:-443}
HTTP_PORT=${HTTP_PORT:-8080}
KAM_CFG=$HERE/kamailio.cfg
NS_A=pwcap-a
NS_B=pwcap-b
PY=${PYTHON:-python3}

# the fields every NAME.tshark.tsv holds (keep in sync with the README)
TSV_FIELDS=(-e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport
    -e sip.Method -e sip.Status-Code -e sip.Call-ID -e sip.CSeq.method
    -e sip.User-Agent -e sip.from.user -e sip.to.user)

[[ $(id -u) == 0 ]] || { echo "must run as root (capture, netns)" >&2; exit 1; }
for bin in kamailio sipp tshark dig curl openssl ip "$PY"; do
    command -v "$bin" >/dev/null || { echo "missing: $bin" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/pwcap.XXXXXX)
PIDS=()

log() { printf '[make_captures] %s\n' "$*" >&2; }

# --- process / namespace bookkeeping ---------------------------------------
bg() { # bg LOGNAME cmd... : start a background process and remember its pid
    local name=$1; shift
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    LAST_PID=$!
}

stop_pid() { # TERM one pid we started, then KILL if it lingers
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || return 0
    for i in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

del_netns() {
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    del_netns
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # wait_port udp|tcp ADDR:PORT [netns] -- until something listens
    local proto=$1 addr=$2 ns=${3:-} i flag=-lnu
    [[ $proto == tcp ]] && flag=-lnt
    for i in $(seq 1 50); do
        if [[ -n $ns ]]; then
            ip netns exec "$ns" ss $flag | grep -qF " $addr " && return 0
        else
            ss $flag | grep -qF " $addr " && return 0
        fi
        sleep 0.1
    done
    echo "nothing listening on $proto $addr" >&2
    return 1
}

port_free() { # refuse to start if an earlier, foreign process holds the port
    local proto=$1 addr=$2 flag=-lnu
    [[ $proto == tcp ]] && flag=-lnt
    if ss $flag | grep -qF " $addr "; then
        echo "$proto $addr is busy; stop whatever holds it and re-run" >&2
        exit 1
    fi
}

# --- capture helpers --------------------------------------------------------
CAP_PID=
start_capture() { # start_capture NAME IFACE FILTER SECONDS [netns]
    local name=$1 iface=$2 filter=$3 secs=$4 ns=${5:-} i
    rm -f "$WORK/$name"
    local cmd=(tshark -n -q -i "$iface" -f "$filter" -a "duration:$secs" -w "$WORK/$name")
    [[ -n $ns ]] && cmd=(ip netns exec "$ns" "${cmd[@]}")
    bg "tshark-$name" "${cmd[@]}"
    CAP_PID=$LAST_PID
    for i in $(seq 1 100); do
        grep -q "Capturing on" "$WORK/tshark-$name.log" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
}

stop_capture() { # stop_capture NAME : flush, stop, copy into OUT
    local name=$1
    sleep 0.7
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    cp "$WORK/$name" "$OUT/$name"
    chmod 0644 "$OUT/$name"
}

write_tsv() { # write_tsv NAME [extra tshark args] -> NAME.tshark.tsv
    local name=$1; shift
    tshark -n -r "$OUT/$name" "$@" -Y sip -T fields -E separator=/t \
        "${TSV_FIELDS[@]}" >"$OUT/$name.tshark.tsv" 2>/dev/null
}

# --- kamailio ---------------------------------------------------------------
KAM_PID=
start_kamailio() { # start_kamailio [define ...]
    local defs=() d
    for d in "$@"; do defs+=(-A "$d"); done
    if [[ " $* " == *" WITH_IPV6 "* ]]; then
        port_free udp "[::1]:5070"
    else
        port_free udp 127.0.0.1:5070
        port_free tcp 127.0.0.1:5070
    fi
    mkdir -p "$WORK/kam"
    bg kamailio timeout 300 kamailio -f "$KAM_CFG" "${defs[@]}" -DD -E \
        -P "$WORK/kam/kamailio.pid" -Y "$WORK/kam" -w "$WORK/kam"
    KAM_PID=$LAST_PID
    if [[ " $* " == *" WITH_IPV6 "* ]]; then
        wait_port udp "[::1]:5070"
    else
        wait_port udp 127.0.0.1:5070
    fi
    sleep 0.3
}

stop_kamailio() {
    stop_pid "$KAM_PID"
    # kamailio children exit with the main process; give the ports back
    local i
    for i in $(seq 1 30); do
        ss -lnu | grep -qE ':5070 ' || break
        sleep 0.1
    done
}

# --- sipp wrappers ------------------------------------------------------------
# sipp_run LOG ARGS... : one bounded sipp run in the foreground
# (SIPP_NS=name runs it inside that network namespace)
sipp_run() {
    local name=$1; shift
    local pre=()
    [[ -n ${SIPP_NS:-} ]] && pre=(ip netns exec "$SIPP_NS")
    if ! timeout 30 "${pre[@]}" sipp "$@" -nostdin -timeout 20s -timeout_error \
        -trace_err -error_file "$WORK/$name.err" >"$WORK/$name.log" 2>&1; then
        log "sipp run '$name' failed; see below"
        tail -n 5 "$WORK/$name.err" "$WORK/$name.log" >&2 || true
        return 1
    fi
}

# =========================================================================
# 1/2. SIP over UDP or TCP through the Kamailio registrar/proxy
# =========================================================================
sip_flows() { # sip_flows TRANSPORT_ARGS... (e.g. -t u1 or -t t1)
    local tr=("$@") K=127.0.0.1:5070
    # bob registers from 127.0.0.1:5080, then answers one call there
    sipp_run reg-bob "$K" -sf "$HERE/reg.xml" -s bob -ap secret123 \
        -i 127.0.0.1 -p 5080 -m 1 -cid_str "reg-bob-%u-%p@%s" "${tr[@]}"
    bg uas-bob timeout 30 sipp -sf "$HERE/call_uas.xml" -s bob -i 127.0.0.1 -p 5080 \
        -m 1 -nostdin "${tr[@]}"
    local uas=$LAST_PID
    if [[ " ${tr[*]} " == *" t1 "* ]]; then wait_port tcp 127.0.0.1:5080; else wait_port udp 127.0.0.1:5080; fi
    # alice registers, pings the proxy three times, calls bob
    sipp_run reg-alice "$K" -sf "$HERE/reg.xml" -s alice -ap secret123 \
        -i 127.0.0.1 -p 5062 -m 1 -cid_str "reg-alice-%u-%p@%s" "${tr[@]}"
    sipp_run opt-alice "$K" -sf "$HERE/options.xml" -s alice \
        -i 127.0.0.1 -p 5062 -m 3 -r 5 -l 1 -cid_str "opt-%u-%p@%s" "${tr[@]}"
    sipp_run call-alice "$K" -sf "$HERE/call_uac.xml" -s alice -ap secret123 \
        -set callee bob -i 127.0.0.1 -p 5062 -m 1 -cid_str "call-%u-%p@%s" "${tr[@]}"
    wait "$uas" || { log "bob's UAS failed"; return 1; }
    # someone tries alice's account with a wrong password: 401, then 403
    sipp_run reg-wrongpw "$K" -sf "$HERE/reg.xml" -s alice -ap not-the-password \
        -i 127.0.0.1 -p 5064 -m 1 -cid_str "reg-bad-%u-%p@%s" "${tr[@]}"
}

make_sip_udp() {
    local name=sip-udp.pcapng
    start_kamailio
    start_capture $name lo "udp port 5070" 60
    sip_flows -t u1
    stop_capture $name
    stop_kamailio
    write_tsv $name
}

make_sip_tcp() {
    local name=sip-tcp.pcapng
    start_kamailio
    start_capture $name lo "tcp port 5070 or tcp port 5080" 60
    sip_flows -t t1
    # two requests in one segment, and one request split over two segments
    timeout 15 "$PY" "$HERE/tcp_pipeline.py" 127.0.0.1 5070 >"$WORK/pipeline.log" 2>&1 \
        || { log "tcp_pipeline failed"; cat "$WORK/pipeline.log" >&2; return 1; }
    stop_capture $name
    stop_kamailio
    write_tsv $name
}

# =========================================================================
# 3. REGISTER / OPTIONS over UDP on ::1
# =========================================================================
make_sip_ipv6() {
    local name=sip-ipv6.pcapng K="[::1]:5070"
    start_kamailio WITH_IPV6
    start_capture $name lo "ip6 and udp port 5070" 60
    sipp_run reg6-alice "$K" -sf "$HERE/reg.xml" -s alice -ap secret123 \
        -i ::1 -p 5062 -m 1 -cid_str "reg6-%u-%p@%s"
    sipp_run opt6-alice "$K" -sf "$HERE/options.xml" -s alice \
        -i ::1 -p 5062 -m 2 -r 5 -l 1 -cid_str "opt6-%u-%p@%s"
    sipp_run reg6-bad "$K" -sf "$HERE/reg.xml" -s bob -ap wrong-password \
        -i ::1 -p 5064 -m 1 -cid_str "reg6-bad-%u-%p@%s"
    stop_capture $name
    stop_kamailio
    write_tsv $name
}

# =========================================================================
# 4. ~4.6 kB INVITE over UDP between two namespaces: IP fragmentation
# =========================================================================
make_sip_fragmented() {
    local name=sip-fragmented.pcapng ns
    del_netns
    ip netns add $NS_A
    ip netns add $NS_B
    ip link add pwcap-va netns $NS_A type veth peer name pwcap-vb netns $NS_B
    for ns in $NS_A $NS_B; do
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec $ns ip link set lo up
    done
    ip -n $NS_A addr add 198.51.100.1/24 dev pwcap-va
    ip -n $NS_B addr add 198.51.100.2/24 dev pwcap-vb
    ip -n $NS_A link set pwcap-va mtu 1500 up
    ip -n $NS_B link set pwcap-vb mtu 1500 up

    bg uas-frag timeout 30 ip netns exec $NS_B sipp -sf "$HERE/call_uas.xml" -s dave \
        -i 198.51.100.2 -p 5060 -m 1 -nostdin
    local uas=$LAST_PID
    wait_port udp 198.51.100.2:5060 $NS_B
    start_capture $name pwcap-va "udp" 30 $NS_A
    SIPP_NS=$NS_A sipp_run big-invite 198.51.100.2:5060 -sf "$HERE/big_invite_uac.xml" \
        -s dave -i 198.51.100.1 -p 5060 -m 1 -cid_str "big-%u-%p@%s"
    wait "$uas" || { log "fragmented UAS failed"; return 1; }
    stop_capture $name
    del_netns
    write_tsv $name
}

# =========================================================================
# 5. Kamailio siptrace -> HEPv3 to 127.0.0.1:9060
# =========================================================================
make_hep() {
    local name=hep-kamailio.pcapng K=127.0.0.1:5070
    port_free udp 127.0.0.1:9060
    bg hep-sink timeout 60 "$PY" "$HERE/udp_sink.py" 127.0.0.1 9060 40
    local sink=$LAST_PID
    wait_port udp 127.0.0.1:9060
    start_kamailio WITH_HEP
    start_capture $name lo "udp port 9060" 60
    sipp_run hep-reg "$K" -sf "$HERE/reg.xml" -s alice -ap secret123 \
        -i 127.0.0.1 -p 5062 -m 1 -cid_str "hep-reg-%u-%p@%s"
    sipp_run hep-opt "$K" -sf "$HERE/options.xml" -s alice \
        -i 127.0.0.1 -p 5062 -m 2 -r 5 -l 1 -cid_str "hep-opt-%u-%p@%s"
    stop_capture $name
    stop_kamailio
    stop_pid "$sink"
    write_tsv $name -X "lua_script:$HERE/hep3.lua"
    tshark -n -r "$OUT/$name" -X "lua_script:$HERE/hep3.lua" -Y hep -T fields \
        -E separator=/t -e frame.time_epoch -e hep.capture_id -e hep.ip_proto \
        -e hep.src_ip4 -e hep.src_port -e hep.dst_ip4 -e hep.dst_port \
        -e hep.ts_sec -e hep.ts_usec -e hep.proto_type -e sip.Method \
        -e sip.Status-Code -e sip.Call-ID >"$OUT/$name.hep.tsv" 2>/dev/null
}

# =========================================================================
# 6. SIPVicious: svmap, svwar (100-120), svcrack (tiny dictionary)
# =========================================================================
make_sipvicious() {
    local name=sip-scan-sipvicious.pcapng
    local sv=$SIPVICIOUS_BIN
    [[ -x $sv/sipvicious_svmap ]] || { log "no SIPVicious in $sv"; return 1; }
    printf '%s\n' 0000 1111 password 123456 admin 12345 1234 >"$WORK/dict.txt"
    start_kamailio
    start_capture $name lo "udp port 5070" 90
    (cd "$WORK" && timeout 30 "$sv/sipvicious_svmap" -b 127.0.0.1 -p 5070 127.0.0.1) >"$WORK/svmap.log" 2>&1 || true
    (cd "$WORK" && timeout 40 "$sv/sipvicious_svwar" -b 127.0.0.1 -e 100-120 -p 5070 --maximumtime 10 127.0.0.1) >"$WORK/svwar.log" 2>&1 || true
    (cd "$WORK" && timeout 30 "$sv/sipvicious_svcrack" -b 127.0.0.1 -u 101 -d "$WORK/dict.txt" -p 5070 --maximumtime 10 127.0.0.1) >"$WORK/svcrack.log" 2>&1 || true
    stop_capture $name
    stop_kamailio
    cat "$WORK/svmap.log" "$WORK/svwar.log" "$WORK/svcrack.log" >&2
    write_tsv $name
}

# =========================================================================
# 6b. The shield's SIPVicious lab as Kamailio siptrace HEPv3: each peer on a
#     127.0.0.x address of its own (tools/shield/sv_bound.py binds svwar and
#     svcrack, whose -b is ignored), the registrar of the detection lab
# =========================================================================
make_hep_sipvicious() {
    local name=hep-sip-scan-sipvicious.pcapng K=127.0.0.1:5070
    local py=$SIPVICIOUS_BIN/python bound=$ROOT/tools/shield/sv_bound.py
    [[ -x $py && -x $SIPVICIOUS_BIN/sipvicious_svmap ]] || { log "no SIPVicious in $SIPVICIOUS_BIN"; return 1; }
    printf '%s\n' 0000 1111 password 123456 admin 12345 1234 >"$WORK/dict.txt"
    port_free udp 127.0.0.1:9060
    port_free udp $K
    bg hep-sink timeout 90 "$PY" "$HERE/udp_sink.py" 127.0.0.1 9060 80
    local sink=$LAST_PID
    wait_port udp 127.0.0.1:9060
    mkdir -p "$WORK/kam-lab"
    bg kamailio-lab timeout 120 kamailio -f "$ROOT/tools/shield/detect-registrar.cfg" -DD -E \
        -l "udp:$K" -A 'HEP_URI="sip:127.0.0.1:9060"' \
        -P "$WORK/kam-lab/kamailio.pid" -Y "$WORK/kam-lab" -w "$WORK/kam-lab"
    local kam=$LAST_PID
    wait_port udp $K
    sleep 0.3
    start_capture $name lo "udp port 9060" 90
    # a phone registers alice from 127.0.0.20 (benign: trusted, never banned)
    sipp_run hep-sv-phone "$K" -sf "$HERE/reg.xml" -s alice -ap secret123 \
        -i 127.0.0.20 -p 5062 -m 1 -cid_str "hep-sv-reg-%u-%p@%s"
    sv() { # sv TOOL ADDRESS ARGS... : one bounded SIPVicious run from ADDRESS
        local tool=$1 addr=$2; shift 2
        (cd "$WORK" && timeout 40 "$py" "$bound" "$tool" "$addr" -p 5070 "$@" 127.0.0.1) \
            >"$WORK/hep-sv-$tool-$addr.log" 2>&1 || true
    }
    sv svmap 127.0.0.31
    sv svwar 127.0.0.32 -e 100-120 --maximumtime 10
    sv svwar 127.0.0.33 -m INVITE -e 100-115 --maximumtime 10
    sv svcrack 127.0.0.34 -u 101 -d "$WORK/dict.txt" --maximumtime 10
    stop_capture $name
    stop_pid "$kam"
    stop_pid "$sink"
    cat "$WORK"/hep-sv-*.log >&2
    write_tsv $name -X "lua_script:$HERE/hep3.lua"
    tshark -n -r "$OUT/$name" -X "lua_script:$HERE/hep3.lua" -Y hep -T fields \
        -E separator=/t -e frame.time_epoch -e hep.capture_id -e hep.ip_proto \
        -e hep.src_ip4 -e hep.src_port -e hep.dst_ip4 -e hep.dst_port \
        -e hep.ts_sec -e hep.ts_usec -e hep.proto_type -e sip.Method \
        -e sip.Status-Code -e sip.Call-ID >"$OUT/$name.hep.tsv" 2>/dev/null
}

# =========================================================================
# 7. DNS (UDP+TCP), HTTPS ClientHello with SNI, plain HTTP POST with an IMEI
# =========================================================================
make_mixed() {
    local name=mixed-dns-tls-http.pcapng H=phone-home.example.test
    port_free udp 127.0.0.1:$DNS_PORT
    port_free tcp 127.0.0.1:$DNS_PORT
    port_free tcp 127.0.0.1:$TLS_PORT
    port_free tcp 127.0.0.1:$HTTP_PORT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=$H" -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    bg dns timeout 60 "$PY" "$HERE/dns_responder.py" 127.0.0.1 "$DNS_PORT" 50 10
    local dns=$LAST_PID
    bg tls timeout 60 openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$WORK/cert.pem" \
        -key "$WORK/key.pem" -www -naccept 1 -quiet
    local tls=$LAST_PID
    bg http timeout 60 "$PY" "$HERE/http_sink.py" 127.0.0.1 "$HTTP_PORT" 50 1
    local http=$LAST_PID
    wait_port udp "127.0.0.1:$DNS_PORT"
    wait_port tcp "127.0.0.1:$TLS_PORT"
    wait_port tcp "127.0.0.1:$HTTP_PORT"
    start_capture $name lo "host 127.0.0.1 and (port $DNS_PORT or port $TLS_PORT or port $HTTP_PORT)" 60
    timeout 10 dig @127.0.0.1 -p "$DNS_PORT" +tries=1 +time=3 $H A >"$WORK/dig1.log"
    timeout 10 dig @127.0.0.1 -p "$DNS_PORT" +tcp +tries=1 +time=3 $H A >"$WORK/dig2.log"
    timeout 10 curl -sk --max-time 8 --resolve "$H:$TLS_PORT:127.0.0.1" \
        -A "phonewarden-lab-phone/1.0" "https://$H:$TLS_PORT/" -o /dev/null
    timeout 10 curl -s --max-time 8 --resolve "$H:$HTTP_PORT:127.0.0.1" \
        -A "phonewarden-lab-phone/1.0" -H "Content-Type: application/json" \
        --data '{"device":"lab-deskphone","imei":"356938035643809","fw":"2.0.1","event":"boot"}' \
        "http://$H:$HTTP_PORT/v1/telemetry" -o /dev/null
    stop_capture $name
    stop_pid "$dns"; stop_pid "$tls"; stop_pid "$http"
    write_tsv $name
    local dec=(-d "udp.port==$DNS_PORT,dns" -d "tcp.port==$DNS_PORT,dns"
        -d "tcp.port==$TLS_PORT,tls" -d "tcp.port==$HTTP_PORT,http")
    tshark -n -r "$OUT/$name" "${dec[@]}" \
        -Y "dns or tls.handshake.type==1 or http.request or http.response" -T fields \
        -E separator=/t -e frame.time_epoch -e ip.src -e udp.srcport -e tcp.srcport \
        -e dns.flags.response -e dns.qry.name -e dns.a \
        -e tls.handshake.extensions_server_name -e http.request.method \
        -e http.request.uri -e http.host -e http.response.code -e http.file_data \
        >"$OUT/$name.fields.tsv" 2>/dev/null
}

# =========================================================================
summarize() { # print what we made, with SIP counts as tshark sees them
    # (one count per SIP message: a TCP segment may carry two of them)
    local f extra
    for f in "$@"; do
        [[ -f $OUT/$f ]] || continue
        extra=()
        [[ $f == hep-* ]] && extra=(-X "lua_script:$HERE/hep3.lua")
        printf '%s  %s bytes  %s packets  ' "$f" "$(stat -c %s "$OUT/$f")" \
            "$(tshark -n -r "$OUT/$f" 2>/dev/null | wc -l)"
        tshark -n -r "$OUT/$f" "${extra[@]}" -Y sip -T fields -E occurrence=a \
            -e sip.Method -e sip.Status-Code -e sip.CSeq.method 2>/dev/null |
            awk -F'\t' '{
                n = split($1, m, ","); ns = split($2, s, ","); split($3, c, ",")
                if (ns > n) n = ns
                for (i = 1; i <= n; i++) {
                    if (m[i] != "") k[m[i]]++; else if (s[i] != "") k[s[i] " " c[i]]++
                    t++
                }
                split("", m); split("", s); split("", c)
            } END {
                printf "%d SIP messages:", t
                for (x in k) printf " [%s]=%d", x, k[x]
                print ""
            }'
    done
}

ALL=(sip-udp sip-tcp sip-ipv6 sip-fragmented hep-kamailio sip-scan-sipvicious hep-sip-scan-sipvicious
    mixed-dns-tls-http)
WANT=("$@")
[[ ${#WANT[@]} -eq 0 ]] && WANT=("${ALL[@]}")
mkdir -p "$OUT"
MADE=()
for w in "${WANT[@]}"; do
    log "making $w.pcapng"
    case $w in
        sip-udp) make_sip_udp ;;
        sip-tcp) make_sip_tcp ;;
        sip-ipv6) make_sip_ipv6 ;;
        sip-fragmented) make_sip_fragmented ;;
        hep-kamailio) make_hep ;;
        sip-scan-sipvicious) make_sipvicious ;;
        hep-sip-scan-sipvicious) make_hep_sipvicious ;;
        mixed-dns-tls-http) make_mixed ;;
        *) echo "unknown capture: $w" >&2; exit 2 ;;
    esac
    MADE+=("$w.pcapng")
done
summarize "${MADE[@]}"
