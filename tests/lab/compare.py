#!/usr/bin/python3
"""Comparison logic of the nfflowd lab: what the kernel saw (conntrack event
listeners), what the collector stored (nfdump JSON), what the daemon printed
(CSV lines) and what went over the wire (tshark fields).

Subcommands print their findings and exit 0 when everything matches, 1 with a
readable diff when not.
"""

import argparse
import collections
import datetime
import json
import sys
import xml.etree.ElementTree as ET

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132, "gre": 47,
          "dccp": 33, "udplite": 136, "esp": 50, "ah": 51}
CSV_FIELDS = ("unix_secs", "unix_nsecs", "sysuptime", "exaddr", "dpkts",
              "doctets", "first", "last", "srcaddr", "dstaddr", "nexthop",
              "input", "output", "srcport", "dstport", "prot", "tos",
              "tcp_flags")
INT_FIELDS = frozenset(CSV_FIELDS) - {"exaddr", "srcaddr", "dstaddr",
                                      "nexthop"}


class Failure(Exception):
    """A mismatch worth reporting."""


# ------------------------------------------------------------------ oracle

def parse_ct_text(path):
    """DESTROY events of `conntrack -E -o extended,id,...` keyed by ct id."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "[DESTROY]" not in line:
                continue
            ev = parse_ct_text_line(line)
            if ev is not None:
                out[ev["id"]] = ev
    return out


def parse_ct_tuples(toks):
    """The key=value tokens of one conntrack event line -> (id, orig,
    reply): each side's addresses, ports, ICMP type/code and counters
    (packets and bytes 0 when absent); None without two tuples and an id."""
    src_seen = 0
    orig, reply = {}, {}
    ctid = None
    for t in toks:
        if "=" not in t or t.startswith("["):
            continue
        k, v = t.split("=", 1)
        if k == "src":
            src_seen += 1
        if k == "id":
            ctid = v  # the conntrack id is printed last, after the icmp ids
        side = orig if src_seen <= 1 else reply
        if k in ("src", "dst"):
            side[k] = v
        elif k in ("sport", "dport", "type", "code", "packets", "bytes"):
            side[k] = int(v)
        elif k in ("srckey", "dstkey"):  # GRE's keys, as ports
            side["sport" if k == "srckey" else "dport"] = int(v, 16)
    if ctid is None or src_seen < 2:
        return None
    for side in (orig, reply):
        for k in ("packets", "bytes", "sport", "dport"):
            side.setdefault(k, 0)  # protocols without ports (ESP): 0
    return int(ctid), orig, reply


def ct_l4proto(toks):
    """The layer 4 protocol number of a conntrack event line: the number
    that follows its name ("tcp 6", "gre 47", "unknown 50" for a protocol
    of the generic tracker), None when there is none."""
    names = set(PROTOS) | {"icmpv6", "unknown"}
    for name, num in zip(toks, toks[1:]):
        if name in names and num.isdigit():
            return int(num)
    return None


def icmp_ports(side):
    """An ICMP tuple with sport 0 and dport type * 256 + code (the v5
    record's convention)."""
    side["sport"] = 0
    side["dport"] = side.get("type", 0) * 256 + side.get("code", 0)
    return side


def parse_ct_text_line(line):
    """One DESTROY line -> dict with orig/reply tuples and counters."""
    toks = line.split()
    proto = ct_l4proto(toks)
    if proto is None or proto == 58:  # ICMPv6: see nfxcheck.py
        return None
    tuples = parse_ct_tuples(toks)
    if tuples is None:
        return None
    ctid, orig, reply = tuples
    if proto == 1:
        icmp_ports(orig)
        icmp_ports(reply)
    return {"id": ctid, "proto": proto, "orig": orig, "reply": reply}


def parse_ct_xml(path, any_event=False):
    """Kernel start/stop timestamps (ns) of DESTROY events keyed by ct id;
    with any_event, of every event that carries them (a later one adds to
    what an earlier one gave)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("<flow " if any_event
                                   else '<flow type="destroy"'):
                continue
            try:
                flow = ET.fromstring(line)
            except ET.ParseError:
                continue
            ind = flow.find("meta[@direction='independent']")
            if ind is None or ind.find("id") is None:
                continue
            ts = ind.find("timestamp")
            d = out.setdefault(int(ind.find("id").text),
                               {"start_ns": None, "stop_ns": None})
            if ts is not None:
                for k in ("start", "stop"):
                    if ts.find(k) is not None:
                        d[k + "_ns"] = int(ts.find(k).text)
    return out


def load_oracle(text_path, xml_path):
    """Destroyed connections with tuples, counters and kernel timestamps."""
    text = parse_ct_text(text_path)
    xml = parse_ct_xml(xml_path)
    conns = []
    for ctid, ev in sorted(text.items()):
        ts = xml.get(ctid)
        if ts is None:
            raise Failure("oracle: DESTROY id=%d in the text stream has no "
                          "twin in the XML stream" % ctid)
        ev.update(ts)
        conns.append(ev)
    return conns


def is_export_flow(conn, source, collector, port):
    """True for the daemon's own export traffic."""
    o = conn["orig"]
    return (conn["proto"] == 17 and o["src"] == source
            and o["dst"] == collector and o["dport"] == port)


def expected_records(conn, untranslated=False):
    """The records SPEC section 3 asks for, as (key, meta) pairs."""
    o, r, p = conn["orig"], conn["reply"], conn["proto"]
    recs = []
    rec1 = (o["src"], o["dst"], o["sport"], o["dport"], p,
            o["packets"], o["bytes"])
    recs.append((1, rec1))
    rec2 = (r["dst"], r["src"], r["dport"], r["sport"], p,
            o["packets"], o["bytes"])
    if p == 1:
        rec2 = (r["dst"], r["src"], 0, o["dport"], p, o["packets"],
                o["bytes"])
    if rec2 != rec1 or untranslated:
        recs.append((2, rec2))
    if r["packets"] > 0:
        rec3 = (r["src"], r["dst"], r["sport"], r["dport"], p,
                r["packets"], r["bytes"])
        recs.append((3, rec3))
    return recs


# ------------------------------------------------------------------ collector

def parse_nfdump_json(path):
    """Records from `nfdump -o json` (run with TZ=UTC), IPv6 ones too."""
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    if not text:
        return []
    data = json.loads(text)
    recs = []
    for d in data:
        if d.get("type") != "FLOW":
            continue
        proto = d["proto"]
        if proto in (1, 58):
            sport = 0
            dport = d.get("icmp_type", 0) * 256 + d.get("icmp_code", 0)
        else:
            sport = d.get("src_port", 0)
            dport = d.get("dst_port", 0)
        src = d.get("src4_addr", d.get("src6_addr"))
        dst = d.get("dst4_addr", d.get("dst6_addr"))
        recs.append({
            "key": (src, dst, sport, dport, proto, d["in_packets"],
                    d["in_bytes"]),
            "first": utc_ms(d["first"]),
            "last": utc_ms(d["last"]),
            "router": d.get("ip4_router"),
        })
    return recs


def utc_ms(text):
    """'2026-11-27T03:32:42.629' (UTC) -> epoch milliseconds."""
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return round(dt.timestamp() * 1000)


def parse_csv(path):
    """The daemon's record lines (SPEC section 5); other lines are errors."""
    recs, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            if len(parts) != len(CSV_FIELDS):
                bad.append("line %d: %r" % (n, line))
                continue
            try:
                rec = {k: (int(v) if k in INT_FIELDS else v)
                       for k, v in zip(CSV_FIELDS, parts)}
            except ValueError:
                bad.append("line %d: %r" % (n, line))
                continue
            recs.append(rec)
    return recs, bad


def csv_abs_ms(rec, field):
    """Absolute epoch ms of FIRST/LAST as a collector reconstructs it."""
    now_ms = rec["unix_secs"] * 1000 + rec["unix_nsecs"] // 1000000
    age = (rec["sysuptime"] - rec[field]) % (1 << 32)
    if age >= 1 << 31:  # the record's time is after the header's uptime
        age -= 1 << 32
    return now_ms - age


def csv_key(rec):
    """The comparable part of a CSV record."""
    return (rec["srcaddr"], rec["dstaddr"], rec["srcport"], rec["dstport"],
            rec["prot"], rec["dpkts"], rec["doctets"])


# ------------------------------------------------------------------ checks

def fmt_key(key):
    """A record key as a readable line."""
    sa, da, sp, dp, p, pk, by = key
    return "proto %-2d %s:%d -> %s:%d  %d pkts %d bytes" % (
        p, sa, sp, da, dp, pk, by)


def multiset_diff(label_a, a, label_b, b):
    """Lines describing what is in a but not b and vice versa."""
    ca, cb = collections.Counter(a), collections.Counter(b)
    lines = []
    for k in sorted(ca - cb):
        lines.append("  only in %s: %s" % (label_a, fmt_key(k)))
    for k in sorted(cb - ca):
        lines.append("  only in %s: %s" % (label_b, fmt_key(k)))
    return lines


def cmd_triplet(args):
    """Collector records == oracle connections; CSV == collector."""
    errors = []
    conns = load_oracle(args.ct_text, args.ct_xml)
    export = [c for c in conns
              if is_export_flow(c, args.source, args.collector, args.port)]
    conns = [c for c in conns if c not in export]
    coll = parse_nfdump_json(args.nfdump_json)
    csv_recs, bad = parse_csv(args.csv)

    print("oracle: %d connections destroyed (+%d export flows ignored)"
          % (len(conns), len(export)))
    print("collector: %d records; daemon stdout: %d record lines"
          % (len(coll), len(csv_recs)))
    for c in conns:
        o, r = c["orig"], c["reply"]
        print("  ct id=%d proto %d %s:%d -> %s:%d [%d/%d] reply %s:%d -> "
              "%s:%d [%d/%d]" % (c["id"], c["proto"], o["src"], o["sport"],
                                 o["dst"], o["dport"], o["packets"],
                                 o["bytes"], r["src"], r["sport"], r["dst"],
                                 r["dport"], r["packets"], r["bytes"]))
    if args.require_export_flow and not export:
        errors.append("the daemon's export flow never expired while it ran: "
                      "the check that it is not exported had no subject")
    if bad:
        errors.append("daemon stdout has %d malformed lines:" % len(bad))
        errors.extend("  " + b for b in bad[:10])

    # Each scenario the test drove must be in the oracle, shaped as expected.
    for want in args.expect or []:
        errors.extend(check_scenario(want, conns))

    expected = []
    times = {}
    for c in conns:
        for _, key in expected_records(c, args.untranslated):
            expected.append(key)
            times.setdefault(key, []).append(c)
    got = [r["key"] for r in coll]
    diff = multiset_diff("oracle", expected, "collector", got)
    if diff:
        errors.append("collector records differ from the conntrack oracle:")
        errors.extend(diff)

    # Times: collector first/last vs kernel start/stop.
    worst = 0
    for r in coll:
        cands = times.get(r["key"])
        if not cands:
            continue
        best = None
        for c in cands:
            if c["start_ns"] is None or c["stop_ns"] is None:
                errors.append("oracle has no kernel timestamps for id=%d"
                              % c["id"])
                continue
            d = max(abs(r["first"] - c["start_ns"] / 1e6),
                    abs(r["last"] - c["stop_ns"] / 1e6))
            best = d if best is None else min(best, d)
        if best is None:
            continue
        worst = max(worst, best)
        if best > args.time_tolerance_ms:
            c = cands[0]
            errors.append("times of %s off by %.0f ms: collector %s..%s, "
                          "kernel %s..%s" % (
                              fmt_key(r["key"]), best, r["first"], r["last"],
                              c["start_ns"] // 10**6, c["stop_ns"] // 10**6))
    print("largest start/end deviation collector vs kernel: %.1f ms" % worst)

    for r in coll:
        if r["router"] != args.source:
            errors.append("collector saw exporter %s, expected %s"
                          % (r["router"], args.source))
            break
    for key in got:
        if key[4] == 17 and key[3] == args.port and key[1] == args.collector:
            errors.append("the daemon exported its own export flow: %s"
                          % fmt_key(key))

    # The daemon's CSV lines describe exactly the exported records.
    ck = [csv_key(r) for r in csv_recs]
    diff = multiset_diff("daemon-stdout", ck, "collector", got)
    if diff:
        errors.append("daemon stdout differs from the collector:")
        errors.extend(diff)
    by_key = collections.defaultdict(list)
    for r in coll:
        by_key[r["key"]].append(r)
    for r in csv_recs:
        if r["exaddr"] != args.source:
            errors.append("stdout exaddr %s != source %s"
                          % (r["exaddr"], args.source))
            break
    for r in csv_recs:
        matches = by_key.get(csv_key(r), [])
        f, l = csv_abs_ms(r, "first"), csv_abs_ms(r, "last")
        if matches and not any(abs(m["first"] - f) <= 2
                               and abs(m["last"] - l) <= 2 for m in matches):
            m = matches[0]
            errors.append("stdout times of %s (%d..%d) differ from the "
                          "collector's (%d..%d)" % (fmt_key(csv_key(r)), f, l,
                                                    m["first"], m["last"]))
        for k in ("nexthop",):
            if r[k] != "0.0.0.0":
                errors.append("stdout %s=%s, expected 0.0.0.0" % (k, r[k]))
        for k in ("input", "output", "tos"):
            if r[k] != 0:
                errors.append("stdout %s=%s, expected 0" % (k, r[k]))
        # TCP flags are derived from conntrack's state (tcp_flags.sh
        # checks them against the packets): some of FIN, SYN, RST, ACK
        # for TCP, none for other protocols.
        if r["prot"] == 6 and (r["tcp_flags"] == 0 or r["tcp_flags"] & ~0x17):
            errors.append("stdout tcp_flags=%#x for TCP, expected a non-empty "
                          "subset of FIN|SYN|RST|ACK" % r["tcp_flags"])
        if r["prot"] != 6 and r["tcp_flags"] != 0:
            errors.append("stdout tcp_flags=%#x for protocol %d, expected 0"
                          % (r["tcp_flags"], r["prot"]))
    return report(errors)


def check_scenario(want, conns):
    """NAME:PROTO:DST:DPORT:nat|nonat:reply|noreply -- exactly one oracle
    connection goes to DST:DPORT and its records have that shape."""
    name, pname, dst, dport, nat, reply = want.split(":")
    proto, dport = PROTOS[pname], int(dport)
    hits = [c for c in conns if c["proto"] == proto
            and c["orig"]["dst"] == dst and c["orig"]["dport"] == dport]
    if len(hits) != 1:
        return ["scenario %s: expected 1 %s connection to %s:%d in the "
                "oracle, found %d" % (name, pname, dst, dport, len(hits))]
    recs = [n for n, _ in expected_records(hits[0])]
    errs = []
    if (2 in recs) != (nat == "nat"):
        errs.append("scenario %s: NAT %s expected, oracle says %s"
                    % (name, nat, "nat" if 2 in recs else "nonat"))
    if (3 in recs) != (reply == "reply"):
        errs.append("scenario %s: reply %s expected, oracle reply packets %d"
                    % (name, reply, hits[0]["reply"]["packets"]))
    print("  scenario %s: ct id=%d -> records %s" % (name, hits[0]["id"],
                                                    recs))
    return errs


def report(errors):
    """Print the verdict; exit code."""
    if errors:
        print("FAIL")
        for e in errors:
            print(e)
        return 1
    print("OK")
    return 0


# ------------------------------------------------------------------ tshark

TSHARK_FIELDS = ("frame.number", "cflow.version", "cflow.count",
                 "cflow.sequence", "cflow.sysuptime", "cflow.unix_secs",
                 "cflow.unix_nsecs", "cflow.srcaddr", "cflow.dstaddr",
                 "cflow.nexthop", "cflow.inputint", "cflow.outputint",
                 "cflow.packets", "cflow.octets", "cflow.timestart",
                 "cflow.timeend", "cflow.srcport", "cflow.dstport",
                 "cflow.protocol", "cflow.tos", "cflow.tcpflags",
                 "ip.src", "ip.dst", "udp.dstport", "udp.length",
                 "_ws.malformed",
                 "_ws.expert.severity")


def secs_to_ms(text):
    """'580.871000000' -> 580871."""
    whole, _, frac = text.partition(".")
    return int(whole) * 1000 + int((frac + "000")[:3])


def parse_tshark(path):
    """Datagrams from `tshark -T fields -E separator=| -E aggregator=;`."""
    dgrams = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("|")
            if len(parts) != len(TSHARK_FIELDS):
                raise Failure("tshark line with %d fields: %r"
                              % (len(parts), line))
            dgrams.append(dict(zip(TSHARK_FIELDS, parts)))
    return dgrams


def tshark_records(d):
    """The CSV-shaped records of one decoded datagram."""
    def col(name):
        return d[name].split(";") if d[name] else []
    cols = {k: col(k) for k in TSHARK_FIELDS[7:21]}
    n = len(cols["cflow.srcaddr"])
    recs = []
    for i in range(n):
        recs.append({
            "unix_secs": int(d["cflow.unix_secs"]),
            "unix_nsecs": int(d["cflow.unix_nsecs"]),
            "sysuptime": secs_to_ms(d["cflow.sysuptime"]),
            "exaddr": d["ip.src"],
            "dpkts": int(cols["cflow.packets"][i]),
            "doctets": int(cols["cflow.octets"][i]),
            "first": secs_to_ms(cols["cflow.timestart"][i]),
            "last": secs_to_ms(cols["cflow.timeend"][i]),
            "srcaddr": cols["cflow.srcaddr"][i],
            "dstaddr": cols["cflow.dstaddr"][i],
            "nexthop": cols["cflow.nexthop"][i],
            "input": int(cols["cflow.inputint"][i]),
            "output": int(cols["cflow.outputint"][i]),
            "srcport": int(cols["cflow.srcport"][i]),
            "dstport": int(cols["cflow.dstport"][i]),
            "prot": int(cols["cflow.protocol"][i]),
            "tos": int(cols["cflow.tos"][i], 0),
            "tcp_flags": int(cols["cflow.tcpflags"][i], 0),
        })
    return recs


def cmd_tshark(args):
    """Every datagram decodes as v5; sequence and count consistent;
    the records on the wire equal the daemon's CSV lines field by field."""
    errors = []
    dgrams = parse_tshark(args.fields)
    print("tshark decoded %d datagrams" % len(dgrams))
    if not dgrams:
        return report(["no export datagram was captured"])
    wire = []
    seq = None
    for d in dgrams:
        fr = d["frame.number"]
        if d["_ws.malformed"]:
            errors.append("frame %s: malformed" % fr)
        sev = [s for s in d["_ws.expert.severity"].split(";") if s]
        if sev:
            errors.append("frame %s: expert info severities %s" % (fr, sev))
        if d["cflow.version"] != "5":
            errors.append("frame %s: version %r" % (fr, d["cflow.version"]))
            continue
        recs = tshark_records(d)
        count = int(d["cflow.count"])
        if count != len(recs) or not 1 <= count <= 30:
            errors.append("frame %s: count %d but %d records decoded"
                          % (fr, count, len(recs)))
        if int(d["udp.length"]) != 8 + 24 + 48 * count:
            errors.append("frame %s: UDP length %s for %d records, "
                          "expected %d" % (fr, d["udp.length"], count,
                                           8 + 24 + 48 * count))
        s = int(d["cflow.sequence"])
        if seq is None and args.first_sequence is not None and \
                s != args.first_sequence:
            errors.append("frame %s: first flow_sequence %d, expected %d"
                          % (fr, s, args.first_sequence))
        if seq is not None and s != seq:
            errors.append("frame %s: flow_sequence %d, expected %d"
                          % (fr, s, seq))
        seq = s + count
        if d["ip.src"] != args.source or d["ip.dst"] != args.collector or \
                d["udp.dstport"] != str(args.port):
            errors.append("frame %s: %s -> %s:%s, expected %s -> %s:%d"
                          % (fr, d["ip.src"], d["ip.dst"], d["udp.dstport"],
                             args.source, args.collector, args.port))
        wire.extend(recs)
    print("records on the wire: %d" % len(wire))
    if args.min_records and len(wire) < args.min_records:
        errors.append("only %d records on the wire, expected at least %d"
                      % (len(wire), args.min_records))
    if args.csv:
        csv_recs, bad = parse_csv(args.csv)
        if bad:
            errors.append("daemon stdout has malformed lines: %s" % bad[:5])
        a = [tuple(r[k] for k in CSV_FIELDS) for r in wire]
        b = [tuple(r[k] for k in CSV_FIELDS) for r in csv_recs]
        ca, cb = collections.Counter(a), collections.Counter(b)
        if ca != cb:
            errors.append("records on the wire differ from daemon stdout "
                          "(all 18 fields):")
            for k in sorted(ca - cb):
                errors.append("  only on the wire: " + ",".join(map(str, k)))
            for k in sorted(cb - ca):
                errors.append("  only on stdout:   " + ",".join(map(str, k)))
        else:
            print("all %d stdout lines equal the decoded records" % len(b))
    return report(errors)


# ------------------------------------------------------------------ misc

def cmd_oracle(args):
    """Print the parsed oracle (for debugging the lab)."""
    for c in load_oracle(args.ct_text, args.ct_xml):
        print(json.dumps(c, sort_keys=True))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("oracle")
    p.add_argument("--ct-text", required=True)
    p.add_argument("--ct-xml", required=True)
    p.set_defaults(func=cmd_oracle)

    p = sub.add_parser("triplet")
    p.add_argument("--ct-text", required=True)
    p.add_argument("--ct-xml", required=True)
    p.add_argument("--nfdump-json", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--collector", required=True)
    p.add_argument("--port", type=int, default=2055)
    p.add_argument("--untranslated", action="store_true")
    p.add_argument("--require-export-flow", action="store_true")
    p.add_argument("--time-tolerance-ms", type=float, default=1000.0)
    p.add_argument("--expect", action="append",
                   help="NAME:PROTO:DST:DPORT:nat|nonat:reply|noreply")
    p.set_defaults(func=cmd_triplet)

    p = sub.add_parser("tshark")
    p.add_argument("--fields", required=True)
    p.add_argument("--csv")
    p.add_argument("--source", required=True)
    p.add_argument("--collector", required=True)
    p.add_argument("--port", type=int, default=2055)
    p.add_argument("--min-records", type=int, default=1)
    p.add_argument("--first-sequence", type=int)
    p.set_defaults(func=cmd_tshark)

    args = ap.parse_args()
    try:
        return args.func(args)
    except Failure as e:
        print("FAIL\n" + str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
