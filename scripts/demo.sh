#!/usr/bin/env bash
# The demo: what Tandem can do today, end to end through the `tandem` binary.
#
# Dials a 400 number as DTMF, plays China's and North America's busy tones,
# converts the audio between the codecs of the media path and detects the
# digits back from every encoding. Then runs the media engine behind its
# rtpengine-compatible ng port and lets Kamailio anchor three SIPp calls
# through it (A-law caller, mu-law callee: Tandem transcodes both ways).
# Then `tandem run` is the SIP B2BUA itself: SIPp calls a 400 number
# through it to a trunk that answers 503 and on to one that answers G.722,
# and the demo prints the call records and the SIP metrics. Last, the call
# center of examples/callcenter.toml: SIPp callers key through the IVR
# (RFC 4733) into skill-based queues served by five SIPp agents, leave a
# voicemail, get refused by the blacklist, and the demo prints the call
# records, the live queues from the REST API, the KPIs on /metrics and the
# stored 15-minute report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== building tandem (release)"
cargo build --release -q -p tandem-gateway
tandem=target/release/tandem
out=target/demo
rm -rf "$out" && mkdir -p "$out"

number="4008001234#"
echo "== dialling $number as DTMF (Q.23 tones, 80 ms on / 80 ms off, -10 dBm0 per tone)"
$tandem tone dtmf "$number" "$out/dialled.wav" --on-ms 80 --off-ms 80 --level -10

echo "== converting to the media path's codecs"
$tandem audio convert "$out/dialled.wav" "$out/dialled-pcma.wav" --codec pcma
$tandem audio convert "$out/dialled.wav" "$out/dialled-pcmu.wav" --codec pcmu
$tandem audio convert "$out/dialled.wav" "$out/dialled-48k.wav" --codec l16 --rate 48000
$tandem audio convert "$out/dialled-48k.wav" "$out/dialled-back-8k.wav" --codec l16 --rate 8000
$tandem audio convert "$out/dialled.wav" "$out/dialled.g722" --codec g722
ls -l "$out"

echo "== detecting the digits back (one line per file)"
for f in dialled dialled-pcma dialled-pcmu dialled-back-8k; do
    printf '%-18s ' "$f.wav"
    $tandem dtmf detect "$out/$f.wav"
done

echo "== the same digits with their positions (samples at 8 kHz)"
$tandem dtmf detect --timestamps "$out/dialled-pcma.wav"

echo "== call-progress tones"
for country in cn us eu itu; do
    $tandem tone progress busy "$out/busy-$country.wav" --country "$country" --seconds 3
    printf 'busy tone (%s) -> DTMF detector hears: "%s"\n' "$country" \
        "$($tandem dtmf detect "$out/busy-$country.wav")"
done

echo "== bad input is a one-line error and exit status 2"
echo "not audio" > "$out/notes.txt"
set +e
$tandem dtmf detect "$out/notes.txt"
echo "exit status $?"
set -e
echo "== media engine: Kamailio anchors 3 SIPp calls through 'tandem run' over ng"
kam=tests/kamailio
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
$tandem run --ng-listen 127.0.0.1:21423 --rtp-ports 23100-23199 --recording-dir "$out" \
    2> "$out/tandem-run.log" &
pids+=($!)
mkdir -p "$out/kamailio"
kamailio -f "$kam/kamailio.cfg" -A 'LISTEN=udp:127.0.0.1:25160' -A 'NG_SOCK="udp:127.0.0.1:21423"' \
    -A 'UAS="sip:127.0.0.1:25170"' -D -E -w "$out/kamailio" -Y "$out/kamailio" \
    > "$out/kamailio.log" 2>&1 &
pids+=($!)
(cd "$out" && exec sipp -sf "../../$kam/uas-pcmu-echo.xml" -i 127.0.0.1 -p 25170 -mp 26100 \
    -rtp_echo -nostdin -m 3 -timeout 30 > /dev/null 2>&1) &
pids+=($!)
sleep 2
(cd "$out" && sipp 127.0.0.1:25160 -sf "../../$kam/uac-pcma-pcap.xml" -i 127.0.0.1 -p 25180 \
    -mp 27100 -m 3 -r 3 -nostdin -timeout 30 > /dev/null 2>&1) && echo "SIPp: 3 calls completed" \
    || echo "SIPp: some calls failed (see $out/kamailio.log)"
sleep 1
grep "^tandem:" "$out/tandem-run.log"

echo "== SIP B2BUA: 5 SIPp calls to 4008 through 'tandem run', failing over from a 503 trunk"
rm -f "$out/cdr.sqlite"*
cat > "$out/b2bua.toml" <<'TOML'
[sip]
listen = "127.0.0.1:25260"
[media]
rtp_ports = "23200-23299"
[http]
listen = "127.0.0.1:25290"

[[trunk]]
name = "out-of-service"
address = "127.0.0.1:25282"
options_interval = 0

[[trunk]]
name = "wideband"
address = "127.0.0.1:25284"
options_interval = 0
codecs = ["G722"]

[[route]]
prefix = "4008"
trunks = ["out-of-service", "wideband"]
TOML
$tandem check-config "$out/b2bua.toml"
$tandem run --config "$out/b2bua.toml" --cdr-db "$out/cdr.sqlite" 2> "$out/b2bua.log" &
pids+=($!)
(cd "$out" && exec sipp -sf ../../tests/sipp/uas-503.xml -i 127.0.0.1 -p 25282 -nostdin \
    -timeout 30 > /dev/null 2>&1) &
pids+=($!)
(cd "$out" && exec sipp -sf ../../tests/sipp/uas-g722-echo.xml -i 127.0.0.1 -p 25284 -mp 26200 \
    -rtp_echo -nostdin -timeout 30 > /dev/null 2>&1) &
pids+=($!)
sleep 2
(cd "$out" && sipp 127.0.0.1:25260 -sf "../../$kam/uac-pcma-pcap.xml" -i 127.0.0.1 -p 25280 \
    -mp 27200 -s 4008123 -m 5 -r 5 -nostdin -timeout 30 > /dev/null 2>&1) \
    && echo "SIPp: 5 calls completed" || echo "SIPp: some calls failed (see $out/b2bua.log)"
sleep 1
echo "-- call records (tandem cdr list --format csv), A-law in, G.722 out:"
$tandem cdr list --db "$out/cdr.sqlite" --format csv | cut -d, -f4-7,14-16,18,22
echo "-- metrics (GET /metrics, the tandem_sip_calls_total lines):"
exec 3<>/dev/tcp/127.0.0.1/25290
printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
grep '^tandem_sip_calls_total' <&3 || true
exec 3<&-

echo "== call center: examples/callcenter.toml (2 numbers, IVR, 3 queues, 5 agents)"
# GET PATH from the call center's HTTP port with the demo token.
cc_get() {
    exec 4<>/dev/tcp/127.0.0.1/25390
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer demo-supervisor-token\r\nConnection: close\r\n\r\n' "$1" >&4
    sed '1,/^\r$/d' <&4
    exec 4<&-
}
$tandem check-config examples/callcenter.toml
$tandem run --config examples/callcenter.toml 2> "$out/callcenter.log" &
cc_pid=$!
pids+=($cc_pid)
for i in 1 2 3 4 5; do
    (cd "$out" && exec sipp -sf ../../tests/kamailio/uas-pcmu-echo.xml -i 127.0.0.1 \
        -p "2536$i" -mp "264${i}0" -rtp_echo -nostdin -timeout 120 > /dev/null 2>&1) &
    pids+=($!)
done
(cd "$out" && exec sipp -sf ../../tests/kamailio/uas-pcmu-echo.xml -i 127.0.0.1 -p 25366 \
    -mp 26700 -rtp_echo -nostdin -timeout 120 > /dev/null 2>&1) &
pids+=($!)
sleep 2
# Callers keying 1 then 2 (service, then technical support), and 9
# (voicemail); tests/sipp/uac-ivr-caller.xml keys 2 then 3 (an agent).
sed 's/dtmf_2833_2/dtmf_2833_1/; s/dtmf_2833_3/dtmf_2833_2/' tests/sipp/uac-ivr-caller.xml \
    > "$out/uac-ivr-1-2.xml"
sed 's/dtmf_2833_2/dtmf_2833_9/; s/dtmf_2833_3/dtmf_2833_9/' tests/sipp/uac-ivr-caller.xml \
    > "$out/uac-ivr-9.xml"
caller() { # PORT MEDIA SCENARIO NUMBER CALLS CALLER
    (cd "$out" && sipp 127.0.0.1:25360 -sf "$3" -i 127.0.0.1 -p "$1" -mp "$2" -s "$4" \
        -m "$5" -r 1 -d 8000 -key caller "$6" -nostdin -timeout 60 > /dev/null 2>&1) \
        && echo "SIPp: $5 call(s) to $4 from $6 completed" \
        || echo "SIPp: some calls to $4 from $6 failed (see $out/callcenter.log)"
}
callers=()
caller 25370 26600 uac-ivr-1-2.xml 4008123456 2 13800000001 & callers+=($!)
caller 25371 26610 ../../tests/sipp/uac-ivr-caller.xml 4008123456 2 13900000002 & callers+=($!)
caller 25372 26620 uac-ivr-9.xml 4008123456 1 13700000003 & callers+=($!)
caller 25373 26630 ../../tests/sipp/uac-queue-caller.xml 4006543210 3 18600000004 & callers+=($!)
caller 25374 26640 ../../tests/sipp/uac-refused.xml 4008123456 1 13500001234 & callers+=($!)
wait "${callers[@]}" || true
sleep 2
echo "-- call records (caller, 400 number, answered by, disposition):"
$tandem cdr list --db "$out/callcenter.sqlite" --format csv | cut -d, -f4,5,7,13,14
echo "-- queues now (GET /api/queues; name, waiting, agents by state, offered/answered today):"
cc_get /api/queues | python3 -c '
import json, sys
for q in json.load(sys.stdin)["queues"]:
    agents = " ".join(f"{k}={v}" for k, v in q["agents"].items() if v)
    t = q["kpis"]["total"]
    print("%-8s waiting=%d %s offered=%d answered=%d"
          % (q["name"], q["waiting"], agents, t["offered"], t["answered"]))
'
echo "-- KPIs (GET /metrics, answered and service level per queue):"
cc_get /metrics | grep -E '^tandem_callcenter_(calls_answered_total|calls_offered_total|service_level_ratio)\{' || true
echo "-- voicemail (GET /api/voicemail/general):"
cc_get /api/voicemail/general; echo
echo "-- the wallboard was at http://127.0.0.1:25390/wallboard?token=demo-wallboard-token"
kill -TERM "$cc_pid"; wait "$cc_pid" 2>/dev/null || true
echo "-- stored 15-minute KPIs (tandem report --by queue, today):"
today=$(TZ=Asia/Shanghai date +%F)
$tandem report --db "$out/callcenter.sqlite" --from "$today" --to "$today" --by queue \
    --utc-offset +08:00 --format csv | cut -d, -f1-9
echo "== done; files are in $out"
