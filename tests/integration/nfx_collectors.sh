#!/bin/bash
# NetFlow v9 and IPFIX messages from the nfx encoder (sent by nfxsend) decode
# in two independent collectors.  nfcapd/nfdump reads back every record with
# its pre- and post-NAT addresses and ports, counters, times, interfaces and
# next hops, and counts no sequence error; Wireshark's dissector (tshark)
# decodes every packet, templates included, with no malformed or expert item,
# and shows the same fields plus the header counts and sequence numbers.
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
	# nfcapd's own accounting: every record arrived, no sequence gap.
	want=$(wc -l <"$W/$v.expected")
	if ! grep -q "Flows: $want,.*Sequence Errors: 0, Bad Packets: 0" \
		"$W/nfcapd-$v.log"; then
		echo "FAIL: nfcapd ($v) did not count $want flows without errors" >&2
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
    recs = []
    for line in open(path):
        f = line.split()
        r = dict(proto=int(f[0]), src=f[1], sport=f[2], dst=f[3], dport=f[4],
                 xsrc=f[5], xsport=int(f[6]), xdst=f[7], xdport=int(f[8]),
                 packets=int(f[9]), octets=int(f[10]), start=int(f[11]),
                 end=int(f[12]), in_if=int(f[13]), out_if=int(f[14]),
                 nexthop=f[15], direction=int(f[16]), tid=int(f[17]))
        r['v6'] = ':' in r['src']
        r['icmp'] = r['proto'] in (1, 58)
        if r['icmp']:
            t, c = r['dport'].split('.')
            r['itype'], r['icode'] = int(t), int(c)
            r['sport'] = r['dport'] = 0
        else:
            r['sport'], r['dport'] = int(r['sport']), int(r['dport'])
        r['ifs'] = r['tid'] in (258, 259)
        recs.append(r)
    return recs


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
        fam = '6' if e['v6'] else '4'
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
        same(at, 'flowDirection', d.get('direction'), e['direction'])
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
            same(at, 'flowEndReason', er, 3)


# Field types of each template, in order, written out here independently
# of the encoder.
V4 = [8, 12, 7, 11, 225, 226, 227, 228, 4, 32, 1, 2, 152, 153, 61, 239, 136]
V6 = [27, 28, 7, 11, 281, 282, 227, 228, 4, 139, 1, 2, 152, 153, 61, 239, 136]
TEMPLATES = {256: V4, 257: V6, 258: V4 + [10, 14, 15], 259: V6 + [10, 14, 62]}


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
    same(at, 'flowDirection', int(f.get('cflow.direction', -1)),
         e['direction'])
    same(at, 'biflowDirection', int(f.get('cflow.biflow_direction', -1)),
         e['direction'] + 1)
    same(at, 'flowEndReason', int(f.get('cflow.flow_end_reason', -1)), 3)
    if e['ifs']:
        same(at, 'in_if', int(f.get('cflow.inputint', -1)), e['in_if'])
        same(at, 'out_if', int(f.get('cflow.outputint', -1)), e['out_if'])
        same(at, 'nexthop', f.get('cflow.nexthop' + fam), e['nexthop'])
    elif 'cflow.inputint' in f:
        fail(f'{at}: interfaces in a record of template {e["tid"]}')


def check_tshark(exp):
    frames = json.load(open(f'{W}/wire.json'))
    per_port = {V9_PORT: [], IPFIX_PORT: []}
    for fr in frames:
        lay = fr['_source']['layers']
        per_port.setdefault(int(lay['udp']['udp.dstport']), []).append(lay)
    for port, ver in ((V9_PORT, 'v9'), (IPFIX_PORT, 'ipfix')):
        todo = list(exp[ver])
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
            ntempl = 0
            nrec = 0
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
                for f in children(s, 'Flow '):
                    if not todo:
                        fail(f'{at}: more records than sent')
                        break
                    e = todo.pop(0)
                    same(f'{at} set {sid}', 'template id', sid, e['tid'])
                    check_flow(f'{at} record {nrec + 1}', f, e)
                    nrec += 1
            same(at, 'template records', ntempl, 2 if n != 1 else 0)
            if ver == 'v9':
                same(at, 'count', int(cf.get('cflow.count', -1)),
                     ntempl + nrec)
                same(at, 'sequence', int(cf.get('cflow.sequence', -1)), n)
                same(at, 'source id', cf.get('cflow.source_id'), '4242')
            else:
                same(at, 'length', int(cf.get('cflow.len', -1)),
                     int(lay['udp']['udp.length']) - 8)
                same(at, 'sequence', int(cf.get('cflow.sequence', -1)), done)
                same(at, 'domain', cf.get('cflow.od_id'), '4242')
            done += nrec
        if todo:
            fail(f'tshark {ver}: {len(todo)} sent records not decoded')


exp = {v: load_expected(f'{W}/{v}.expected') for v in ('v9', 'ipfix')}
for v in ('v9', 'ipfix'):
    if len(exp[v]) != 13:
        fail(f'nfxsend {v} printed {len(exp[v])} records, expected 13')
    check_nfdump(v, exp[v])
check_tshark(exp)
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
