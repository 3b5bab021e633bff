#!/bin/bash
# NetFlow v9 and IPFIX messages from the nfx encoder (sent by nfxsend) decode
# in two independent collectors.  nfcapd/nfdump reads back every record with
# its pre- and post-NAT addresses and ports, counters, times, interfaces and
# next hops, TCP flags, end reason and zone (ingressVRFID), and every NAT
# session event with its natEvent, addresses, ports and times; Wireshark's
# dissector (tshark) decodes every packet, templates and options templates
# included, with no malformed or expert item, and shows the same fields plus
# the options data (sampling, exporter totals, interface names), the header
# counts and sequence numbers.
# Fields a collector release does not decode are reported as NOTE lines;
# when it shows them, they must be right.
# Everything runs in a private network namespace over its loopback only.
#   usage: NFXSEND=build/tests/tools/nfxsend tests/integration/nfx_collectors.sh
set -euo pipefail

V9_PORT=2055
IPFIX_PORT=4739
PROBE_PORT=9

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

if [ -z "${NFXSEND:-}" ] || [ ! -x "$NFXSEND" ]; then
	echo "FAIL: set NFXSEND to the built nfxsend (got '${NFXSEND:-}')" >&2
	exit 1
fi
[ "$(id -u)" = 0 ] || skip "needs root (private network namespace, capture)"
for tool in nfcapd nfdump tshark python3 unshare ip; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

# Re-run inside a fresh network namespace: its loopback is ours alone, so
# the fixed ports clash with nothing and no packet can leave.
if [ -z "${NFX_PRIVATE_NETNS:-}" ]; then
	unshare --net true 2>/dev/null || skip "cannot create a network namespace"
	NFXSEND=$(cd "$(dirname "$NFXSEND")" && pwd)/$(basename "$NFXSEND")
	export NFXSEND NFX_PRIVATE_NETNS=1
	exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up

export TZ=UTC
W=$(mktemp -d /tmp/nfxcol.XXXXXX)
PIDS=()
KEEP=1
# Ends what this script started, by pid; keeps the work dir on failure.
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [ "$KEEP" = 0 ]; then
		rm -rf "$W"
	else
		echo "work dir kept: $W" >&2
	fi
}
trap cleanup EXIT

# Waits up to 10 s for a line matching a pattern in a log file.
wait_log() {
	local file=$1 pattern=$2
	for _ in $(seq 100); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: '$pattern' never appeared in $file" >&2
	cat "$file" >&2 || true
	exit 1
}

mkdir "$W/v9" "$W/ipfix"
nfcapd -b 127.0.0.1 -p "$V9_PORT" -w "$W/v9" -t 60 >"$W/nfcapd-v9.log" 2>&1 &
PIDS+=($!)
NFCAPD_V9=$!
nfcapd -b 127.0.0.1 -p "$IPFIX_PORT" -w "$W/ipfix" -t 60 >"$W/nfcapd-ipfix.log" 2>&1 &
PIDS+=($!)
NFCAPD_IPFIX=$!
tshark -i lo \
	-f "udp port $V9_PORT or udp port $IPFIX_PORT or udp port $PROBE_PORT" -w "$W/wire.pcapng" >"$W/tshark.log" 2>&1 &
PIDS+=($!)
TSHARK=$!
wait_log "$W/nfcapd-v9.log" "Startup"
wait_log "$W/nfcapd-ipfix.log" "Startup"
wait_log "$W/tshark.log" "Capturing on"
# "Capturing on" comes before the filter is live: probe until a datagram
# to the discard port shows in the file.
live=0
for _ in $(seq 100); do
	echo probe >/dev/udp/127.0.0.1/$PROBE_PORT 2>/dev/null || true
	sleep 0.1
	if tshark -r "$W/wire.pcapng" -Y "udp.dstport == $PROBE_PORT" \
		-T fields -e frame.number 2>/dev/null | grep -q .; then
		live=1
		break
	fi
done
if [ "$live" = 0 ]; then
	echo "FAIL: the capture never saw a probe datagram" >&2
	cat "$W/tshark.log" >&2
	exit 1
fi

"$NFXSEND" 9 "$V9_PORT" >"$W/v9.expected"
"$NFXSEND" 10 "$IPFIX_PORT" >"$W/ipfix.expected"
sleep 1

# Stop the capture and the collectors; nfcapd writes its file on SIGTERM.
kill -INT "$TSHARK"
wait "$TSHARK" || true
kill -TERM "$NFCAPD_V9" "$NFCAPD_IPFIX"
wait "$NFCAPD_V9" || true
wait "$NFCAPD_IPFIX" || true
PIDS=()

rc=0
for v in v9 ipfix; do
	nfdump -R "$W/$v" -o json >"$W/$v.json" || rc=1
	nfdump -R "$W/$v" -o raw >"$W/$v.raw" || rc=1
	# nfcapd's own accounting: every record (traffic and NAT events)
	# arrived, no sequence gap.  nfdump 1.7.1's IPFIX reader leaves the
	# options data records out of its sequence count (RFC 7011 counts
	# them: tshark checks the numbers below), so it sees one gap after
	# the first template message; the third message's options come last.
	want=$(grep -vc '^#opt' "$W/$v.expected")
	errs=0
	[ "$v" = ipfix ] && errs=1
	if ! grep -q "Flows: $want,.*Sequence Errors: $errs, Bad Packets: 0" \
		"$W/nfcapd-$v.log"; then
		echo "FAIL: nfcapd ($v) did not count $want flows with $errs sequence errors" >&2
		cat "$W/nfcapd-$v.log" >&2
		rc=1
	fi
done
tshark -r "$W/wire.pcapng" -d "udp.port==$V9_PORT,cflow" \
	-d "udp.port==$IPFIX_PORT,cflow" -T json >"$W/wire.json" 2>/dev/null || rc=1
tshark -r "$W/wire.pcapng" -d "udp.port==$V9_PORT,cflow" \
	-d "udp.port==$IPFIX_PORT,cflow" \
	-Y "(_ws.malformed || _ws.expert) && !(udp.port == $PROBE_PORT)" \
	-T fields -e frame.number >"$W/expert.txt" 2>/dev/null || rc=1
if [ -s "$W/expert.txt" ]; then
	echo "FAIL: tshark reports malformed or expert items in frames:" \
		"$(tr '\n' ' ' <"$W/expert.txt")" >&2
	tshark -r "$W/wire.pcapng" -d "udp.port==$V9_PORT,cflow" \
		-d "udp.port==$IPFIX_PORT,cflow" -q -z expert 2>/dev/null >&2 || true
	rc=1
fi

cat >"$W/check.py" <<'EOF'
"""Compares what nfdump and tshark decoded with what nfxsend sent."""
import datetime
import json
import re
import sys

W, V9_PORT, IPFIX_PORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
errors = []
notes = set()


def fail(msg):
    errors.append(msg)


def load_expected(path):
    """Traffic records and NAT events in the order sent (kind 'flow' or
    'nat'), and the options data records (#opt lines)."""
    recs, opts = [], []
    for line in open(path):
        f = line.split()
        if f[0] == '#opt':
            opts.append(dict(msg=int(f[1]), kind=f[2], vals=f[3:]))
            continue
        if f[0] == '#nat':
            r = dict(kind='nat', msg=int(f[1]), event=int(f[2]),
                     proto=int(f[3]), src=f[4], sport=int(f[5]), dst=f[6],
                     dport=int(f[7]), xsrc=f[8], xsport=int(f[9]),
                     xdst=f[10], xdport=int(f[11]), start=int(f[12]),
                     obs=int(f[13]), zone=int(f[14]), tid=int(f[15]))
            r['v6'] = ':' in r['src']
            r['icmp'] = r['proto'] in (1, 58)
            recs.append(r)
            continue
        r = dict(kind='flow', proto=int(f[0]), src=f[1], sport=f[2], dst=f[3], dport=f[4],
                 xsrc=f[5], xsport=int(f[6]), xdst=f[7], xdport=int(f[8]),
                 packets=int(f[9]), octets=int(f[10]), start=int(f[11]),
                 end=int(f[12]), in_if=int(f[13]), out_if=int(f[14]),
                 nexthop=f[15], direction=int(f[16]), tid=int(f[17]),
                 flags=int(f[18], 16), reason=int(f[19]), zone=int(f[20]))
        r['v6'] = ':' in r['src']
        r['icmp'] = r['proto'] in (1, 58)
        if r['icmp']:
            t, c = r['dport'].split('.')
            r['itype'], r['icode'] = int(t), int(c)
            r['sport'] = r['dport'] = 0
        else:
            r['sport'], r['dport'] = int(r['sport']), int(r['dport'])
        r['ifs'] = r['tid'] in (262, 263)
        recs.append(r)
    return recs, opts


def ms_of(text, fmt):
    """Milliseconds since the epoch of a UTC timestamp with a fraction."""
    base, frac = text.rsplit('.', 1)
    t = datetime.datetime.strptime(base, fmt).replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + int(frac[:3].ljust(3, '0'))


def same(where, name, got, want):
    if got != want:
        fail(f'{where}: {name} is {got!r}, sent {want!r}')


def check_nfdump(ver, exp):
    recs = json.load(open(f'{W}/{ver}.json'))
    raw = open(f'{W}/{ver}.raw').read().split('Flow Record:')[1:]
    if len(recs) != len(exp) or len(raw) != len(exp):
        fail(f'nfdump {ver}: {len(recs)} records (raw {len(raw)}), '
             f'sent {len(exp)}')
        return
    for i, (d, e, rw) in enumerate(zip(recs, exp, raw)):
        at = f'nfdump {ver} record {i + 1}'
        if e['kind'] == 'nat':
            check_nfdump_event(at, ver, d, e)
            continue
        fam = '6' if e['v6'] else '4'
        same(at, 'nat event', d.get('nat_event_id'), None)
        same(at, 'proto', d.get('proto'), e['proto'])
        same(at, 'src', d.get(f'src{fam}_addr'), e['src'])
        same(at, 'dst', d.get(f'dst{fam}_addr'), e['dst'])
        if e['icmp']:
            if ver == 'v9' and e['v6'] and d.get('icmp_type') == 0:
                notes.add('nfdump 1.7.1 does not decode v9 field 139 '
                          '(icmpTypeCodeIPv6): ICMPv6 type.code shows 0.0')
            else:
                same(at, 'icmp type', d.get('icmp_type'), e['itype'])
                same(at, 'icmp code', d.get('icmp_code'), e['icode'])
        else:
            same(at, 'sport', d.get('src_port'), e['sport'])
            same(at, 'dport', d.get('dst_port'), e['dport'])
        for k, key in (('xsrc', f'src{fam}_xlt_ip'),
                       ('xdst', f'dst{fam}_xlt_ip')):
            if key not in d and ver == 'ipfix' and e['v6']:
                notes.add('nfdump 1.7.1 does not decode IPFIX IEs 281/282 '
                          '(postNATSource/DestinationIPv6Address)')
            else:
                same(at, k, d.get(key), e[k])
        same(at, 'xsport', int(d.get('src_xlt_port', -1)), e['xsport'])
        same(at, 'xdport', int(d.get('dst_xlt_port', -1)), e['xdport'])
        same(at, 'packets', d.get('in_packets'), e['packets'])
        same(at, 'octets', d.get('in_bytes'), e['octets'])
        fmt = '%Y-%m-%dT%H:%M:%S'
        same(at, 'start', ms_of(d.get('first', '1970-01-01T00:00:00.0'), fmt),
             e['start'])
        same(at, 'end', ms_of(d.get('last', '1970-01-01T00:00:00.0'), fmt),
             e['end'])
        same(at, 'flowDirection', d.get('direction'), 0)
        fl = re.search(r'tcp flags\s*=\s*0x(\w+)', rw)
        same(at, 'tcp flags', int(fl.group(1), 16) if fl else None,
             e['flags'])
        same(at, 'ingress VRF', int(d.get('ingress_vrf', -1)), e['zone'])
        same(at, 'in_if', d.get('input_snmp'), e['in_if'])
        same(at, 'out_if', d.get('output_snmp'), e['out_if'])
        same(at, 'nexthop', d.get(f'ip{fam}_next_hop'),
             e['nexthop'] if e['ifs'] else None)
        m = re.search(r'biFlow Dir\s*=\s*0x(\w+)', rw)
        r = re.search(r'end reason\s*=\s*0x(\w+)', rw)
        bi = int(m.group(1), 16) if m else None
        er = int(r.group(1), 16) if r else None
        if ver == 'v9' and bi == 0 and er == 0:
            notes.add('nfdump 1.7.1 does not decode v9 fields 239 '
                      '(biflowDirection) and 136 (flowEndReason): raw shows 0')
        else:
            same(at, 'biflowDirection', bi, e['direction'] + 1)
            same(at, 'flowEndReason', er, e['reason'])


def check_nfdump_event(at, ver, d, e):
    """One NAT event as nfdump shows it."""
    fam = '6' if e['v6'] else '4'
    same(at, 'nat event', int(d.get('nat_event_id', -1)), e['event'])
    same(at, 'proto', d.get('proto'), e['proto'])
    same(at, 'src', d.get(f'src{fam}_addr'), e['src'])
    same(at, 'dst', d.get(f'dst{fam}_addr'), e['dst'])
    for k, key in (('xsrc', f'src{fam}_xlt_ip'),
                   ('xdst', f'dst{fam}_xlt_ip')):
        if key not in d and ver == 'ipfix' and e['v6']:
            notes.add('nfdump 1.7.1 does not decode IPFIX IEs 281/282 '
                      '(postNATSource/DestinationIPv6Address)')
        else:
            same(at, k, d.get(key), e[k])
    if e['icmp']:
        # nfdump shows ICMP's ports as a type/code, not as ports
        notes.add('nfdump 1.7.1 shows no pre-NAT ports of an ICMP NAT '
                  'event (the ICMP id): compared post-NAT only')
    else:
        same(at, 'sport', d.get('src_port'), e['sport'])
        same(at, 'dport', d.get('dst_port'), e['dport'])
    same(at, 'xsport', int(d.get('src_xlt_port', -1)), e['xsport'])
    same(at, 'xdport', int(d.get('dst_xlt_port', -1)), e['xdport'])
    fmt = '%Y-%m-%dT%H:%M:%S'
    same(at, 'start', ms_of(d.get('first', '1970-01-01T00:00:00.0'), fmt),
         e['start'])
    # nfdump 1.7.1's JSON prints t_event's milliseconds unpadded (.5 for
    # .005): the digits after the dot are the milliseconds themselves
    te = d.get('t_event', '1970-01-01T00:00:00.0')
    base, frac = te.rsplit('.', 1)
    same(at, 'event time', ms_of(base + '.0', fmt) + int(frac), e['obs'])
    same(at, 'ingress VRF', int(d.get('ingress_vrf', -1)), e['zone'])


# Field types of each template, in order, written out here independently
# of the encoder.
V4 = [8, 12, 7, 11, 225, 226, 227, 228, 4, 32, 6, 1, 2, 152, 153, 61, 239,
      136, 234]
V6 = [27, 28, 7, 11, 281, 282, 227, 228, 4, 139, 6, 1, 2, 152, 153, 61, 239,
      136, 234]
NAT4 = [323, 152, 153, 230, 4, 8, 12, 7, 11, 225, 226, 227, 228, 234]
NAT6 = [323, 152, 153, 230, 4, 27, 28, 7, 11, 281, 282, 227, 228, 234]
TEMPLATES = {260: V4, 261: V6, 262: V4 + [10, 14, 15], 263: V6 + [10, 14, 62],
             264: NAT4, 265: NAT6}
# Options templates: scope type (v9) or IE (IPFIX), then the other fields.
OPTIONS = {'v9': {266: [1, 34, 305, 306], 267: [2, 82, 83],
                  268: [1, 41, 42, 40], 269: [1, 144, 160]},
           'ipfix': {266: [149, 34, 305, 306], 267: [10, 82, 83],
                     268: [149, 41, 42, 40], 269: [149, 144, 160]}}


def children(node, prefix):
    return [v for k, v in node.items()
            if k.startswith(prefix) and isinstance(v, dict)]


def check_flow(at, f, e):
    fam = 'v6' if e['v6'] else ''
    same(at, 'src', f.get('cflow.srcaddr' + fam), e['src'])
    same(at, 'dst', f.get('cflow.dstaddr' + fam), e['dst'])
    same(at, 'sport', int(f.get('cflow.srcport', -1)), e['sport'])
    same(at, 'dport', int(f.get('cflow.dstport', -1)), e['dport'])
    if e['v6']:
        xs = f.get('cflow.post_nat_source_ipv6_address')
        xd = f.get('cflow.post_nat_destination_ipv6_address')
    else:
        xs = f.get('cflow.post_natsource_ipv4_address')
        xd = f.get('cflow.post_natdestination_ipv4_address')
    same(at, 'xsrc', xs, e['xsrc'])
    same(at, 'xdst', xd, e['xdst'])
    same(at, 'xsport',
         int(f.get('cflow.post_naptsource_transport_port', -1)), e['xsport'])
    same(at, 'xdport',
         int(f.get('cflow.post_naptdestination_transport_port', -1)),
         e['xdport'])
    same(at, 'proto', int(f.get('cflow.protocol', -1)), e['proto'])
    itype, icode = (e['itype'], e['icode']) if e['icmp'] else (0, 0)
    if e['v6']:
        same(at, 'icmp type', int(f.get('cflow.icmp_ipv6_type', -1)), itype)
        same(at, 'icmp code', int(f.get('cflow.icmp_ipv6_code', -1)), icode)
    else:
        same(at, 'icmp type.code',
             int(f.get('cflow.icmp_type_code_ipv4', '-1'), 0),
             itype << 8 | icode)
    same(at, 'octets', int(f.get('cflow.octets', -1)), e['octets'])
    same(at, 'packets', int(f.get('cflow.packets', -1)), e['packets'])
    times = f.get('cflow.timedelta_tree', {})
    fmt = '%b %d, %Y %H:%M:%S'
    for k, key in (('start', 'cflow.abstimestart'),
                   ('end', 'cflow.abstimeend')):
        text = times.get(key, 'Jan 01, 1970 00:00:00.0 UTC')
        same(at, k, ms_of(text.replace(' UTC', ''), fmt), e[k])
    same(at, 'flowDirection', int(f.get('cflow.direction', -1)), 0)
    same(at, 'biflowDirection', int(f.get('cflow.biflow_direction', -1)),
         e['direction'] + 1)
    same(at, 'flowEndReason', int(f.get('cflow.flow_end_reason', -1)),
         e['reason'])
    same(at, 'tcp flags', int(f.get('cflow.tcpflags', '-1'), 0), e['flags'])
    same(at, 'ingressVRFID', int(f.get('cflow.ingress_vrfid', -1)),
         e['zone'])
    if e['ifs']:
        same(at, 'in_if', int(f.get('cflow.inputint', -1)), e['in_if'])
        same(at, 'out_if', int(f.get('cflow.outputint', -1)), e['out_if'])
        same(at, 'nexthop', f.get('cflow.nexthop' + fam), e['nexthop'])
    elif 'cflow.inputint' in f:
        fail(f'{at}: interfaces in a record of template {e["tid"]}')


def check_event(at, f, e):
    fam = 'v6' if e['v6'] else ''
    same(at, 'natEvent', int(f.get('cflow.nat_event', -1)), e['event'])
    same(at, 'proto', int(f.get('cflow.protocol', -1)), e['proto'])
    same(at, 'src', f.get('cflow.srcaddr' + fam), e['src'])
    same(at, 'dst', f.get('cflow.dstaddr' + fam), e['dst'])
    if e['v6']:
        xs = f.get('cflow.post_nat_source_ipv6_address')
        xd = f.get('cflow.post_nat_destination_ipv6_address')
    else:
        xs = f.get('cflow.post_natsource_ipv4_address')
        xd = f.get('cflow.post_natdestination_ipv4_address')
    same(at, 'xsrc', xs, e['xsrc'])
    same(at, 'xdst', xd, e['xdst'])
    for k, key in (('sport', 'cflow.srcport'), ('dport', 'cflow.dstport'),
                   ('xsport', 'cflow.post_naptsource_transport_port'),
                   ('xdport', 'cflow.post_naptdestination_transport_port')):
        same(at, k, int(f.get(key, -1)), e[k])
    fmt = '%b %d, %Y %H:%M:%S'
    # flowEndMilliseconds carries the event's time too
    times = dict(f, **f.get('cflow.timedelta_tree', {}))
    for k, key in (('obs', 'cflow.observation_time_milliseconds'),
                   ('start', 'cflow.abstimestart'),
                   ('obs', 'cflow.abstimeend')):
        text = times.get(key, 'Jan 01, 1970 00:00:00.0 UTC')
        same(at, k, ms_of(text.replace(' UTC', ''), fmt), e[k])
    same(at, 'ingressVRFID', int(f.get('cflow.ingress_vrfid', -1)),
         e['zone'])


def check_options(at, ver, sid, f, o):
    """One options data record against an #opt line."""
    if ver == 'v9':
        scope = f.get('cflow.scope_system', '')
        scope = int(scope.replace(':', ''), 16) if scope else None
    else:
        scope = int(f.get('cflow.od_id', -1))
    if o['kind'] == 'sampling':
        same(at, 'set', sid, 266)
        same(at, 'scope', scope, int(o['vals'][0]))
        same(at, 'sampling', [int(f.get('cflow.sampling_interval', -1)),
                              int(f.get('cflow.sampling_packet_interval', -1)),
                              int(f.get('cflow.sampling_packet_space', -1))],
             [int(x) for x in o['vals'][1:]])
    elif o['kind'] == 'stats':
        same(at, 'set', sid, 268)
        same(at, 'scope', scope, int(o['vals'][0]))
        same(at, 'exporter totals', [int(f.get('cflow.packetsexp', -1)),
                                     int(f.get('cflow.flowsexp', -1)),
                                     int(f.get('cflow.octetsexp', -1))],
             [int(x) for x in o['vals'][1:]])
    elif o['kind'] == 'process':
        same(at, 'set', sid, 269)
        same(at, 'scope', scope, int(o['vals'][0]))
        same(at, 'exporting process', int(f.get('cflow.flow_exporter', -1)),
             int(o['vals'][1]))
        init = f.get('cflow.sys_init_time', 'Jan 01, 1970 00:00:00.0 UTC')
        same(at, 'system init time',
             ms_of(init.replace(' UTC', ''), '%b %d, %Y %H:%M:%S'),
             int(o['vals'][2]))
    else:
        same(at, 'set', sid, 267)
        idx = f.get('cflow.scope_interface' if ver == 'v9'
                    else 'cflow.inputint', -1)
        same(at, 'interface', int(idx), int(o['vals'][0]))
        same(at, 'interface name', f.get('cflow.if_name'), o['vals'][1])
        descr = ' '.join(o['vals'][2:])
        same(at, 'interface description', f.get('cflow.if_descr'),
             '' if descr == '-' else descr)


def check_tshark(exp, opts):
    frames = json.load(open(f'{W}/wire.json'))
    per_port = {V9_PORT: [], IPFIX_PORT: []}
    for fr in frames:
        lay = fr['_source']['layers']
        per_port.setdefault(int(lay['udp']['udp.dstport']), []).append(lay)
    for port, ver in ((V9_PORT, 'v9'), (IPFIX_PORT, 'ipfix')):
        todo = list(exp[ver])
        otodo = list(opts[ver])
        frames = per_port[port]
        if len(frames) != 3:
            fail(f'tshark {ver}: {len(frames)} packets captured, sent 3')
        done = 0
        for n, lay in enumerate(frames):
            at = f'tshark {ver} packet {n + 1}'
            cf = lay.get('cflow')
            if not isinstance(cf, dict):
                fail(f'{at}: not decoded as NetFlow/IPFIX')
                continue
            same(at, 'version', cf.get('cflow.version'),
                 '9' if ver == 'v9' else '10')
            sets = children(cf, 'FlowSet ' if ver == 'v9' else 'Set ')
            ntempl = nopt_t = nrec = nopt = 0
            for s in sets:
                sid = int(s.get('cflow.flowset_id', -1))
                if sid == (0 if ver == 'v9' else 2):
                    for t in children(s, 'Template ('):
                        tid = int(t['cflow.template_id'])
                        types = [int(fl.get('cflow.template_field_type',
                                            fl.get('cflow.template_ipfix_field_type', -1)))
                                 for fl in children(t, 'Field (')]
                        same(f'{at} template {tid}', 'field types', types,
                             TEMPLATES.get(tid))
                        ntempl += 1
                    continue
                if sid == (1 if ver == 'v9' else 3):
                    ots = children(s, 'Options Template (')
                    if ver == 'v9' and len(ots) != 1:
                        fail(f'{at}: {len(ots)} options templates in one '
                             f'v9 FlowSet, RFC 3954 shows one')
                    for t in ots:
                        tid = int(t['cflow.template_id'])
                        types = [int(fl.get('cflow.scope_field_type',
                                            fl.get('cflow.template_field_type',
                                                   fl.get('cflow.template_ipfix_field_type', -1))))
                                 for fl in children(t, 'Field (')]
                        same(f'{at} options template {tid}', 'field types',
                             types, OPTIONS[ver].get(tid))
                        nopt_t += 1
                    continue
                for f in children(s, 'Flow '):
                    if sid in (266, 267, 268, 269):
                        if not otodo:
                            fail(f'{at}: more options records than sent')
                            break
                        o = otodo.pop(0)
                        same(f'{at} options', 'message', o['msg'], n)
                        check_options(f'{at} options record {nopt + 1}',
                                      ver, sid, f, o)
                        nopt += 1
                        continue
                    if not todo:
                        fail(f'{at}: more records than sent')
                        break
                    e = todo.pop(0)
                    same(f'{at} set {sid}', 'template id', sid, e['tid'])
                    if e['kind'] == 'nat':
                        same(f'{at} event', 'message', e['msg'], n)
                        check_event(f'{at} record {nrec + 1}', f, e)
                    else:
                        check_flow(f'{at} record {nrec + 1}', f, e)
                    nrec += 1
            same(at, 'template records', ntempl, 4 if n != 1 else 0)
            same(at, 'options template records', nopt_t,
                 4 if n != 1 else 0)
            if ver == 'v9':
                same(at, 'count', int(cf.get('cflow.count', -1)),
                     ntempl + nopt_t + nrec + nopt)
                same(at, 'sequence', int(cf.get('cflow.sequence', -1)), n)
                same(at, 'source id', cf.get('cflow.source_id'), '4242')
            else:
                same(at, 'length', int(cf.get('cflow.len', -1)),
                     int(lay['udp']['udp.length']) - 8)
                # data records before, options data records included
                same(at, 'sequence', int(cf.get('cflow.sequence', -1)), done)
                same(at, 'domain', cf.get('cflow.od_id'), '4242')
            done += nrec + nopt
        if todo:
            fail(f'tshark {ver}: {len(todo)} sent records not decoded')
        if otodo:
            fail(f'tshark {ver}: {len(otodo)} sent options records not '
                 f'decoded')


exp, opts = {}, {}
for v in ('v9', 'ipfix'):
    exp[v], opts[v] = load_expected(f'{W}/{v}.expected')
    nat = sum(1 for r in exp[v] if r['kind'] == 'nat')
    if len(exp[v]) != 16 or nat != 3 or len(opts[v]) != 10:
        fail(f'nfxsend {v} printed {len(exp[v])} records ({nat} NAT '
             f'events) and {len(opts[v])} options records, expected 16 '
             f'(3) and 10')
    check_nfdump(v, exp[v])
check_tshark(exp, opts)
for n in sorted(notes):
    print('NOTE:', n)
for e in errors:
    print('FAIL:', e)
print(f'{sum(len(x) for x in exp.values())} records checked in nfdump and '
      f'tshark, {len(errors)} mismatches')
sys.exit(1 if errors else 0)
EOF
python3 "$W/check.py" "$W" "$V9_PORT" "$IPFIX_PORT" || rc=1

if [ "$rc" = 0 ]; then
	KEEP=0
	echo "PASS: v9 and IPFIX decode in nfdump and tshark"
fi
exit "$rc"
