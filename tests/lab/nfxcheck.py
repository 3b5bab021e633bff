#!/usr/bin/python3
"""Checks of the nfflowd lab for NetFlow v9 / IPFIX collectors, IPv6 and the
active timeout: what the kernel saw (conntrack event listeners, both address
families), what nfcapd stored (`nfdump -o raw`, `-o json`) and what went over
the wire (`tshark -T json`).

The expected v9/IPFIX records of one destroyed connection with original
tuple O and reply tuple R (one record per direction, template 260 for
IPv4, 261 for IPv6; 262/263 with interfaces):
  original: O.src:O.sport -> O.dst:O.dport, post-NAT R.dst:R.dport ->
            R.src:R.sport, O's counters, flowDirection 0, biflowDirection 1
  reply (only when R carried packets): R.src:R.sport -> R.dst:R.dport,
            post-NAT O.dst:O.dport -> O.src:O.sport, R's counters,
            flowDirection 0 (both directions are observed entering the
            firewall), biflowDirection 2
  flowEndReason 3 (end of flow detected) at the DESTROY of a TCP
  connection closed by FIN or RST (conntrack's final state FIN_WAIT,
  CLOSE_WAIT, LAST_ACK, TIME_WAIT or CLOSE), 1 (idle timeout) for every
  other DESTROY, 2 for an active-timeout export;
  tcpControlBits (IE 6) by the derivation rules of tcp_rule_flags() from
  the states conntrack reported (0 for other protocols); ingressVRFID
  (IE 234) the conntrack zone (0 without a zone= token).
For ICMP/ICMPv6 the ports are not compared; the type/code is (each
direction its own).

Every template message carries the traffic templates, the NAT event
templates 264/265 and the options templates 266 (sampling), 267 (interface
names), 268 (exporter totals) and 269 (exporting process), followed by
their options data records:
sampling interval 1, packet interval 1, space 0; the exporter's totals of
messages, data records and octets sent before the message.  The v9 header
count covers every record (templates, options templates, data, options
data); the IPFIX sequence counts every data record sent before, options
data records included (RFC 7011 section 3.1).  `nat` checks the NAT
session events (RFC 8158) against the oracle's NEW and DESTROY events.

What nfdump 1.7.1 (NSEL-NEL1.7.1) shows of these, found by experiment:
`-o raw`, `-o json`, `-o nsel` and `-o nel` show the post-NAT ("xlt")
addresses and ports, `-o csv` does not. Its v9 reader decodes IEs 225-228 and
281-282 but neither biflowDirection, flowEndReason nor icmpTypeCodeIPv6
(139); its IPFIX reader decodes 225-228, 139, 239 and 136 but not 281/282.
So the IPFIX IPv6 post-NAT addresses are checked on the wire only; tshark
decodes every field of both protocols.

Each subcommand prints its findings and exits 0 when everything matches, 1
with a precise list of mismatches.
"""

import argparse
import collections
import datetime
import json
import os
import re
import sys

# The oracle parsers of compare.py, from this file's folder (without
# __pycache__).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  pylint: disable=wrong-import-position

PROTOS = dict(compare.PROTOS, icmpv6=58)
ICMPS = (1, 58)
# Field types of each template, in order, written out here independently
# of the encoder (include/nfflowd/nfx.h).
T_V4, T_V6, T_V4_IF, T_V6_IF, T_NAT4, T_NAT6 = 260, 261, 262, 263, 264, 265
T_SAMPLING, T_IFNAME, T_STATS, T_PROCESS = 266, 267, 268, 269
_V4 = (8, 12, 7, 11, 225, 226, 227, 228, 4, 32, 6, 1, 2, 152, 153, 61, 239,
       136, 234)
_V6 = (27, 28, 7, 11, 281, 282, 227, 228, 4, 139, 6, 1, 2, 152, 153, 61,
       239, 136, 234)
_NAT4 = (323, 152, 153, 230, 4, 8, 12, 7, 11, 225, 226, 227, 228, 234)
_NAT6 = (323, 152, 153, 230, 4, 27, 28, 7, 11, 281, 282, 227, 228, 234)
TEMPLATE_IES = {
    T_V4: _V4, T_V6: _V6, T_V4_IF: _V4 + (10, 14, 15),
    T_V6_IF: _V6 + (10, 14, 62), T_NAT4: _NAT4, T_NAT6: _NAT6,
}
# Options templates: scope (v9 scope type, IPFIX IE) and the other fields.
OPTION_TEMPLATES = {
    T_SAMPLING: ((1, 149), (34, 305, 306)),
    T_IFNAME: ((2, 10), (82, 83)),
    T_STATS: ((1, 149), (41, 42, 40)),
    T_PROCESS: ((1, 149), (144, 160)),
}
END_IDLE, END_ACTIVE, END_FLOW, END_FORCED = 1, 2, 3, 4
# conntrack's TCP states (the text the event lines print).
TCP_FIN_STATES = ("FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT")
TCP_ACK_STATES = ("ESTABLISHED",) + TCP_FIN_STATES
TCP_CLOSED_STATES = TCP_FIN_STATES + ("CLOSE",)
TCP_STATES = ("NONE", "SYN_SENT", "SYN_RECV", "SYN_SENT2", "CLOSE") + \
    TCP_ACK_STATES
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


# ------------------------------------------------------------------ oracle

def parse_ct_line(line):
    """One `conntrack -E -o extended,id,...` line -> dict, or None."""
    toks = line.split()
    ev = None
    for t in toks:
        if t in ("[NEW]", "[DESTROY]", "[UPDATE]"):
            ev = t.strip("[]")
            break
    if ev is None:
        return None
    family = 6 if "ipv6" in toks else 4 if "ipv4" in toks else None
    proto = compare.ct_l4proto(toks)
    if family is None or proto is None:
        return None
    tuples = compare.parse_ct_tuples(toks)
    if tuples is None:
        return None
    ctid, orig, reply = tuples
    # The ICMP ids ("id=" within each tuple; the last "id=" is conntrack's),
    # the TCP state, the status flags and the zone.
    ids, side = [], -1
    for t in toks:
        if t.startswith("src="):
            side += 1
        elif t.startswith("id=") and side >= 0:
            ids.append((side, int(t[3:])))
    for s, v in ids[:-1]:
        (orig if s == 0 else reply).setdefault("icmp_id", v)
    zone = next((int(t[5:]) for t in toks if t.startswith("zone=")), 0)
    return {"event": ev, "id": ctid, "family": family, "proto": proto,
            "orig": orig, "reply": reply,
            "state": next((t for t in toks if t in TCP_STATES), None),
            "assured": "[ASSURED]" in toks,
            "unreplied": "[UNREPLIED]" in toks, "zone": zone}


def load_oracle(text_path, xml_path):
    """Destroyed connections of both families with their kernel times (and
    "new_state", the TCP state of their NEW event, None without one)."""
    conns, new_states = {}, {}
    with open(text_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = parse_ct_line(line)
            if c is not None and c["event"] == "DESTROY":
                c["new_state"] = new_states.pop(c["id"], None)
                conns[c["id"]] = c
            elif c is not None and c["event"] == "NEW":
                new_states[c["id"]] = c["state"]
    times = compare.parse_ct_xml(xml_path) if xml_path else {}
    out = []
    for ctid, c in sorted(conns.items()):
        if xml_path and ctid not in times:
            raise compare.Failure("oracle: DESTROY id=%d of the text stream "
                                  "has no twin in the XML stream" % ctid)
        t = times.get(ctid, {"start_ns": None, "stop_ns": None})
        c["start_ms"], c["stop_ms"] = (
            (ns // 10**6 if ns is not None else None)
            for ns in (t["start_ns"], t["stop_ns"]))
        out.append(c)
    return out


def drop_export_flows(conns, source, collector, ports):
    """The daemon's own export connections, and the rest."""
    export, rest = [], []
    for c in conns:
        o = c["orig"]
        if (c["proto"] == 17 and o["src"] == source and
                o["dst"] == collector and o["dport"] in ports):
            export.append(c)
        else:
            rest.append(c)
    return export, rest


def describe(c):
    """One oracle connection as a readable line."""
    o, r = c["orig"], c["reply"]
    return ("ct id=%d v%d proto %d %s:%d -> %s:%d [%d pkts %d B] reply "
            "%s:%d -> %s:%d [%d pkts %d B]" % (
                c["id"], c["family"], c["proto"], o["src"], o["sport"],
                o["dst"], o["dport"], o["packets"], o["bytes"], r["src"],
                r["sport"], r["dst"], r["dport"], r["packets"], r["bytes"]))


# ------------------------------------------------------------------ records

FIELDS = ("family", "proto", "src", "sport", "dst", "dport", "xsrc",
          "xsport", "xdst", "xdport", "icmp", "packets", "bytes",
          "direction", "biflow", "reason", "flags", "zone")


def norm_addr(a):
    """Canonical text of an IPv4 or IPv6 address (None stays None)."""
    if a is None:
        return None
    import ipaddress
    return str(ipaddress.ip_address(a))


def end_reason(c):
    """flowEndReason of a connection's DESTROY export: 3 (end of flow
    detected) for TCP closed by FIN or RST, 1 (idle timeout) otherwise."""
    if c["proto"] == 6 and c.get("state") in TCP_CLOSED_STATES:
        return END_FLOW
    return END_IDLE


def tcp_rule_flags(c, first=True):
    """(original, reply) tcpControlBits of a connection's export by the
    derivation rules (conntrack keeps no header flags, only its TCP state):
      original: SYN if the connection began with SYN_SENT (its NEW) and
      this is its first export; ACK if ASSURED or the final state is
      ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK or TIME_WAIT; FIN for the
      last four; RST for a final CLOSE unless the SYN was refused.
      reply (when the reply was seen): SYN if it began with SYN_SENT, first
      export, and reached ASSURED or SYN_RECV or later; ACK if it began with
      SYN_SENT, is ASSURED or its final state is one of the five above; FIN
      for LAST_ACK and TIME_WAIT; RST if refused (began with SYN_SENT, final
      CLOSE, never ASSURED).
    (0, 0) for other protocols."""
    if c["proto"] != 6 or not c.get("state"):
        return 0, 0
    st, assured = c["state"], c.get("assured", False)
    began = c.get("new_state") == "SYN_SENT"
    replied = not c.get("unreplied", False) or c["reply"]["packets"] > 0
    refused = st == "CLOSE" and not assured and replied and began
    o = r = 0
    if began and first:
        o |= SYN
    if assured or st in TCP_ACK_STATES:
        o |= ACK
    if began and first and replied and (
            assured or st in ("SYN_RECV",) + TCP_ACK_STATES):
        r |= SYN
    if replied and (began or assured or st in TCP_ACK_STATES):
        r |= ACK
    if st in TCP_FIN_STATES:
        o |= FIN
    if st in ("LAST_ACK", "TIME_WAIT") and replied:
        r |= FIN
    if st == "CLOSE":
        if refused:
            r |= RST
        else:
            o |= RST
    return o, r


def expected_nfx(c, reason=None, counters=None):
    """The v9/IPFIX records of one export of a connection (full field set).
    reason: flowEndReason (default: end_reason(c), a DESTROY export).
    counters: (orig_packets, orig_bytes, reply_packets, reply_bytes) to use
    instead of the oracle's final ones."""
    o, r, p = c["orig"], c["reply"], c["proto"]
    if reason is None:
        reason = end_reason(c)
    oflags, rflags = tcp_rule_flags(c)
    zone = c.get("zone", 0)
    op, ob, rp, rb = counters or (o["packets"], o["bytes"], r["packets"],
                                  r["bytes"])
    icmp = p in ICMPS
    orig = {"family": c["family"], "proto": p,
            "src": norm_addr(o["src"]), "dst": norm_addr(o["dst"]),
            "sport": None if icmp else o["sport"],
            "dport": None if icmp else o["dport"],
            "xsrc": norm_addr(r["dst"]), "xdst": norm_addr(r["src"]),
            "xsport": None if icmp else r["dport"],
            "xdport": None if icmp else r["sport"],
            "icmp": (o.get("type", 0), o.get("code", 0)) if icmp else None,
            "packets": op, "bytes": ob, "direction": 0, "biflow": 1,
            "reason": reason, "flags": oflags, "zone": zone}
    recs = [orig]
    if rp > 0:
        recs.append({"family": c["family"], "proto": p,
                     "src": norm_addr(r["src"]), "dst": norm_addr(r["dst"]),
                     "sport": None if icmp else r["sport"],
                     "dport": None if icmp else r["dport"],
                     "xsrc": norm_addr(o["dst"]), "xdst": norm_addr(o["src"]),
                     "xsport": None if icmp else o["dport"],
                     "xdport": None if icmp else o["sport"],
                     "icmp": ((r.get("type", 0), r.get("code", 0))
                              if icmp else None),
                     "packets": rp, "bytes": rb, "direction": 0,
                     "biflow": 2, "reason": reason, "flags": rflags,
                     "zone": zone})
    return recs


def nfdump_view(version, rec):
    """The fields of a record nfdump 1.7.1 decodes for this protocol
    version (see the module comment); the others become None."""
    v = dict(rec)
    v.pop("start_ms", None)
    v.pop("end_ms", None)
    if version == 9:
        v["biflow"] = v["reason"] = None
        if v["proto"] == 58:
            v["icmp"] = None
    else:
        if v["family"] == 6:
            v["xsrc"] = v["xdst"] = None
    return v


def key(rec):
    """A comparable tuple of a record."""
    return tuple(rec.get(f) for f in FIELDS)


def fmt(rec):
    """A record as a readable line."""
    def ep(a, p):
        if a is None:
            return "?"
        a = "[%s]" % a if ":" in a else a
        return a if p is None else "%s:%d" % (a, p)
    s = "v%s proto %s %s -> %s (post-NAT %s -> %s)" % (
        rec.get("family"), rec.get("proto"), ep(rec.get("src"), rec.get("sport")),
        ep(rec.get("dst"), rec.get("dport")),
        ep(rec.get("xsrc"), rec.get("xsport")),
        ep(rec.get("xdst"), rec.get("xdport")))
    if rec.get("icmp") is not None:
        s += " icmp %d/%d" % rec["icmp"]
    s += " %s pkts %s B dir %s biflow %s reason %s flags %s zone %s" % (
        rec.get("packets"), rec.get("bytes"), rec.get("direction"),
        rec.get("biflow"), rec.get("reason"),
        None if rec.get("flags") is None else "0x%02x" % rec["flags"],
        rec.get("zone"))
    return s


def multiset_diff(label_a, a, label_b, b):
    """Lines naming the records only in a or only in b."""
    ka = collections.Counter(key(r) for r in a)
    kb = collections.Counter(key(r) for r in b)
    lines = []
    for k in sorted(ka - kb, key=str):
        lines.append("  only in %s: %s" % (label_a, fmt(dict(zip(FIELDS, k)))))
    for k in sorted(kb - ka, key=str):
        lines.append("  only in %s: %s" % (label_b, fmt(dict(zip(FIELDS, k)))))
    return lines


# ------------------------------------------------------------------ nfdump

RAW_LINE = re.compile(r"^\s+([A-Za-z][A-Za-z ]*?)\s+=\s+(.*)$")


def parse_nfdump_raw(path):
    """Records of `nfdump -o raw`: dicts in the FIELDS shape plus times."""
    blocks, cur = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Flow Record:"):
                cur = {}
                blocks.append(cur)
                continue
            m = RAW_LINE.match(line.rstrip("\n"))
            if cur is not None and m:
                cur[m.group(1)] = m.group(2).strip()
    recs = []
    for b in blocks:
        def first(k, b=b):
            return b[k].split()[0] if k in b else None

        def num(k, b=b):
            v = first(k)
            return int(v, 0) if v is not None else None
        proto = num("proto")
        src = first("src addr")
        icmp = None
        if proto in ICMPS and "ICMP" in b:
            t, _, c = b["ICMP"].split()[0].partition(".")
            icmp = (int(t), int(c))
        ver = re.search(r"NETFLOW v(\d+)", b.get("Flags", ""))
        rec = {"version": int(ver.group(1)) if ver else None,
               "family": 6 if src and ":" in src else 4, "proto": proto,
               "src": norm_addr(src), "dst": norm_addr(first("dst addr")),
               "sport": None if proto in ICMPS else num("src port"),
               "dport": None if proto in ICMPS else num("dst port"),
               "xsrc": norm_addr(first("src xlt ip")),
               "xdst": norm_addr(first("dst xlt ip")),
               # a NAT event's ICMP id is its post-NAT source port
               "xsport": None if proto in ICMPS and "nat event" not in b
               else num("src xlt port"),
               "xdport": None if proto in ICMPS and "nat event" not in b
               else num("dst xlt port"),
               "icmp": icmp, "packets": num("in packets"),
               "bytes": num("in bytes"), "direction": num("direction"),
               "biflow": num("biFlow Dir"), "reason": num("end reason"),
               "flags": num("tcp flags"), "zone": num("ingress VRF"),
               "start_ms": num("first"), "end_ms": num("last"),
               "exporter": first("ip exporter"),
               "event": (int(re.match(r"\d+", b["nat event"]).group(0))
                         if "nat event" in b else None),
               "obs_ms": num("Event time")}
        recs.append(rec)
    return recs


def v5_expected(c):
    """SPEC section 3's records of an IPv4 connection: compare.py's rule,
    with an ICMP tuple's type and code as its destination port."""
    if c["proto"] == 1:
        c = dict(c, orig=compare.icmp_ports(dict(c["orig"])),
                 reply=compare.icmp_ports(dict(c["reply"])))
    return [k for _, k in compare.expected_records(c)]


# ------------------------------------------------------------------ tshark

def pairs_hook(pairs):
    """Keep repeated JSON keys: a dict of lists."""
    d = collections.OrderedDict()
    for k, v in pairs:
        d.setdefault(k, []).append(v)
    return d


def one(d, k):
    """The single value of key k in a pairs_hook dict, or None."""
    v = d.get(k)
    return v[0] if v else None


def walk(d, fn):
    """Call fn(key, value) on every member of a pairs_hook tree."""
    if isinstance(d, dict):
        for k, vs in d.items():
            for v in vs:
                fn(k, v)
                walk(v, fn)
    elif isinstance(d, list):
        for v in d:
            walk(v, fn)


def abstime_ms(text):
    """'Nov 27, 2026 07:37:34.735000000 UTC' -> epoch ms (tshark TZ=UTC)."""
    text = text.replace(" UTC", "").strip()
    base, _, frac = text.partition(".")
    dt = datetime.datetime.strptime(base, "%b %d, %Y %H:%M:%S")
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + "000")[:3])


def tshark_addrs(g):
    """The family, the addresses and the post-NAT addresses of a decoded
    record, by its field getter g."""
    if g("cflow.srcaddrv6") is not None:
        return (6, g("cflow.srcaddrv6"), g("cflow.dstaddrv6"),
                g("cflow.post_nat_source_ipv6_address"),
                g("cflow.post_nat_destination_ipv6_address"))
    return (4, g("cflow.srcaddr"), g("cflow.dstaddr"),
            g("cflow.post_natsource_ipv4_address"),
            g("cflow.post_natdestination_ipv4_address"))


def tshark_flow(fl):
    """One decoded data record -> dict in the FIELDS shape plus times."""
    def g(k):
        return one(fl, k)

    def gi(k):
        v = g(k)
        return int(v, 0) if v is not None else None
    proto = gi("cflow.protocol")
    fam, src, dst, xsrc, xdst = tshark_addrs(g)
    icmp = None
    if proto == 1 and g("cflow.icmp_type_code_ipv4") is not None:
        tc = gi("cflow.icmp_type_code_ipv4")
        icmp = (tc >> 8, tc & 0xFF)
    elif proto == 1 and g("cflow.icmp_ipv4_type") is not None:
        icmp = (gi("cflow.icmp_ipv4_type"), gi("cflow.icmp_ipv4_code"))
    elif proto == 58 and g("cflow.icmp_ipv6_type") is not None:
        icmp = (gi("cflow.icmp_ipv6_type"), gi("cflow.icmp_ipv6_code"))
    start = end = None
    tree = g("cflow.timedelta_tree")
    if tree is not None:
        if one(tree, "cflow.abstimestart"):
            start = abstime_ms(one(tree, "cflow.abstimestart"))
        if one(tree, "cflow.abstimeend"):
            end = abstime_ms(one(tree, "cflow.abstimeend"))
    icmpp = proto in ICMPS
    return {"family": fam, "proto": proto, "src": norm_addr(src),
            "dst": norm_addr(dst),
            "sport": None if icmpp else gi("cflow.srcport"),
            "dport": None if icmpp else gi("cflow.dstport"),
            "xsrc": norm_addr(xsrc), "xdst": norm_addr(xdst),
            "xsport": None if icmpp else gi(
                "cflow.post_naptsource_transport_port"),
            "xdport": None if icmpp else gi(
                "cflow.post_naptdestination_transport_port"),
            "icmp": icmp, "packets": gi("cflow.packets"),
            "bytes": gi("cflow.octets"), "direction": gi("cflow.direction"),
            "biflow": gi("cflow.biflow_direction"),
            "reason": gi("cflow.flow_end_reason"),
            "flags": gi("cflow.tcpflags"), "zone": gi("cflow.ingress_vrfid"),
            "start_ms": start, "end_ms": end}


def parse_tshark(path, port):
    """Decoded messages to UDP port `port`: a list of dicts with header
    fields, templates, data records and problems."""
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    pkts = json.loads(text, object_pairs_hook=pairs_hook) if text else []
    msgs = []
    for p in pkts:
        layers = one(one(p, "_source"), "layers")
        frame = one(one(layers, "frame"), "frame.number")
        udp = one(layers, "udp")
        if udp is None or one(udp, "udp.dstport") != str(port):
            continue
        ip = one(layers, "ip")
        m = {"frame": frame, "udp_len": int(one(udp, "udp.length")),
             "src": one(ip, "ip.src") if ip else None,
             "dst": one(ip, "ip.dst") if ip else None,
             "problems": [], "templates": {}, "opt_templates": {},
             "flows": [], "events": [], "options": [], "data_sets": 0}

        def spot(k, v, m=m):
            if k == "_ws.malformed" or k.startswith("_ws.malformed."):
                m["problems"].append("malformed packet")
            elif k == "_ws.expert.severity":
                # Chat and comment level (below PI_NOTE, 0x00400000) is no
                # decoding problem: e.g. the UDP dissector's "Possible
                # traceroute" for an ephemeral source port in 33435..33464.
                if int(v) >= 0x00400000:
                    m["problems"].append("expert info severity %s: %s" % (
                        v, m.get("_last_expert", "")))
            elif k == "_ws.expert.message":
                m["_last_expert"] = v
        walk(layers, spot)
        cf = one(layers, "cflow")
        if cf is None:
            m["problems"].append("not decoded as NetFlow/IPFIX")
            msgs.append(m)
            continue
        m["version"] = int(one(cf, "cflow.version"))
        m["count"] = one(cf, "cflow.count")
        m["length"] = one(cf, "cflow.len")
        m["sequence"] = int(one(cf, "cflow.sequence"))
        dom = one(cf, "cflow.source_id") or one(cf, "cflow.od_id")
        m["domain"] = int(dom) if dom is not None else None
        for k, vs in cf.items():
            # v9 "FlowSet N [id=..]", IPFIX "Set N [id=..]"
            if not (k.startswith("FlowSet") or k.startswith("Set ")):
                continue
            for fs in vs:
                parse_set(m, int(one(fs, "cflow.flowset_id")), fs)
        msgs.append(m)
    return msgs


def field_type(fv):
    """The type of one template field (v9, IPFIX or v9 scope)."""
    ie = (one(fv, "cflow.template_field_type") or
          one(fv, "cflow.template_ipfix_field_type") or
          one(fv, "cflow.scope_field_type"))
    return int(ie)


def parse_set(m, fsid, fs):
    """One decoded set of a message into m: templates (set 0/2), options
    templates (1/3: scope type, field types), data records by template:
    traffic, NAT events (264/265) and options data (266-268)."""
    if fsid in (0, 2):
        for tk, tvs in fs.items():
            if not tk.startswith("Template"):
                continue
            for t in tvs:
                ies = [field_type(fv) for fk, fvs in t.items()
                       if fk.startswith("Field") for fv in fvs]
                m["templates"][int(one(t, "cflow.template_id"))] = tuple(ies)
    elif fsid in (1, 3):
        for tk, tvs in fs.items():
            if not tk.startswith("Options Template"):
                continue
            for t in tvs:
                scope, ies = [], []
                for fk, fvs in t.items():
                    if fk.startswith("Field"):
                        for fv in fvs:
                            (scope if "[Scope]" in fk else ies).append(
                                field_type(fv))
                m["opt_templates"][int(one(t, "cflow.template_id"))] = (
                    tuple(scope), tuple(ies))
    elif fsid >= 256:
        m["data_sets"] += 1
        for fk, fvs in fs.items():
            if not fk.startswith("Flow "):
                continue
            for fl in fvs:
                if fsid in (T_NAT4, T_NAT6):
                    r = tshark_event(fl)
                    r["set_id"] = fsid
                    m["events"].append(r)
                elif fsid in OPTION_TEMPLATES:
                    r = {k: one(fl, k) for k in fl}
                    r["set_id"] = fsid
                    m["options"].append(r)
                else:
                    r = tshark_flow(fl)
                    r["set_id"] = fsid
                    m["flows"].append(r)


def tshark_event(fl):
    """One decoded NAT event record -> dict (event, proto, pre/post-NAT
    addresses and ports, times, zone)."""
    def g(k):
        return one(fl, k)

    def gi(k):
        v = g(k)
        return int(v, 0) if v is not None else None
    fam, src, dst, xsrc, xdst = tshark_addrs(g)
    obs = g("cflow.observation_time_milliseconds")
    start, end = g("cflow.abstimestart"), g("cflow.abstimeend")
    tree = g("cflow.timedelta_tree")
    if start is None and tree is not None:
        start = one(tree, "cflow.abstimestart")
    if end is None and tree is not None:
        end = one(tree, "cflow.abstimeend")
    return {"family": fam, "event": gi("cflow.nat_event"),
            "proto": gi("cflow.protocol"), "src": norm_addr(src),
            "dst": norm_addr(dst), "sport": gi("cflow.srcport"),
            "dport": gi("cflow.dstport"), "xsrc": norm_addr(xsrc),
            "xdst": norm_addr(xdst),
            "xsport": gi("cflow.post_naptsource_transport_port"),
            "xdport": gi("cflow.post_naptdestination_transport_port"),
            "zone": gi("cflow.ingress_vrfid"),
            "obs_ms": abstime_ms(obs) if obs else None,
            "start_ms": abstime_ms(start) if start else None,
            "end_ms": abstime_ms(end) if end else None}


def options_problems(m, version, interfaces, domain):
    """What is wrong with the templates and options data of a template
    message: every template and options template, with exactly the field
    lists written out above, and the options data right after."""
    errs = []
    if interfaces:
        want = {T_V4_IF, T_V6_IF, T_NAT4, T_NAT6}
    else:
        want = {T_V4, T_V6, T_NAT4, T_NAT6}
    if set(m["templates"]) != want:
        errs.append("templates %s, expected %s" % (sorted(m["templates"]),
                                                   sorted(want)))
    for tid, ies in m["templates"].items():
        if TEMPLATE_IES.get(tid) != ies:
            errs.append("template %d has field types %s, expected %s"
                        % (tid, list(ies), TEMPLATE_IES.get(tid)))
    if set(m["opt_templates"]) != set(OPTION_TEMPLATES):
        errs.append("options templates %s, expected %s" % (
            sorted(m["opt_templates"]), sorted(OPTION_TEMPLATES)))
    for tid, (scope, ies) in m["opt_templates"].items():
        want_t = OPTION_TEMPLATES.get(tid)
        if want_t is None:
            continue
        wscope = (want_t[0][0 if version == 9 else 1],)
        if (scope, ies) != (wscope, want_t[1]):
            errs.append("options template %d: scope %s fields %s, expected "
                        "scope %s fields %s" % (tid, list(scope), list(ies),
                                                list(wscope),
                                                list(want_t[1])))
    kinds = collections.Counter(o["set_id"] for o in m["options"])
    if kinds[T_SAMPLING] != 1 or kinds[T_STATS] != 1 or \
            kinds[T_PROCESS] != 1:
        errs.append("options data: %d sampling, %d exporter totals and %d "
                    "exporting process records, expected 1 each"
                    % (kinds[T_SAMPLING], kinds[T_STATS], kinds[T_PROCESS]))
    if not interfaces and kinds[T_IFNAME]:
        errs.append("%d interface name records without interfaces"
                    % kinds[T_IFNAME])
    for o in m["options"]:
        if o["set_id"] == T_SAMPLING:
            got = tuple(o.get(k) for k in (
                "cflow.sampling_interval", "cflow.sampling_packet_interval",
                "cflow.sampling_packet_space"))
            if got != ("1", "1", "0"):
                errs.append("sampling record %s, expected interval 1, "
                            "packet interval 1, space 0" % (got,))
        if o["set_id"] in (T_SAMPLING, T_STATS, T_PROCESS):
            sc = scope_domain(o)
            if sc != domain:
                errs.append("options record %d: scope %s, expected the "
                            "header's domain %s" % (o["set_id"], sc, domain))
    return errs


def scope_domain(o):
    """The observation domain an options record is scoped to: IPFIX
    observationDomainId, v9 System scope as hex bytes."""
    if o.get("cflow.od_id") is not None:
        return int(o["cflow.od_id"])
    sc = o.get("cflow.scope_system")
    if sc is not None:
        return int(sc.replace(":", ""), 16)
    return None


def stats_of(m):
    """(messages, records, octets) of a message's exporter totals record,
    or None."""
    for o in m["options"]:
        if o["set_id"] == T_STATS:
            return tuple(int(o.get(k, "-1")) for k in (
                "cflow.packetsexp", "cflow.flowsexp", "cflow.octetsexp"))
    return None


def machine_domain():
    """The default observation domain: FNV-1a (32 bits) of /etc/machine-id
    (1 when that is 0); None without a machine id."""
    try:
        with open("/etc/machine-id", encoding="ascii") as f:
            mid = f.readline().strip()
    except OSError:
        return None
    if not mid:
        return None
    h = 2166136261
    for ch in mid.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h or 1


def check_wire(msgs, version, source, collector, label, min_msgs=1,
               interfaces=False, domain=None):
    """Every message decodes as `version` without problems; sequence
    numbers, counts, templates, options templates and options data are
    consistent; the observation domain (v9 source id) is not 0, the same in
    every message and `domain` when given. When the capture holds every
    message (the first has sequence 0), each exporter totals record counts
    exactly the messages, data records and octets before its message.
    Returns (errors, data records); the NAT events stay in msgs."""
    errors, flows = [], []
    if len(msgs) < min_msgs:
        errors.append("%s: %d messages captured, expected at least %d"
                      % (label, len(msgs), min_msgs))
    seq = None
    templates, opt_seen = {}, set()
    total = [0, 0, 0]  # messages, data records (flows, events), octets
    domains = set()
    complete = None
    ntempl = 0
    for m in msgs:
        fr = m["frame"]
        for p in sorted(set(m["problems"])):
            errors.append("%s frame %s: %s" % (label, fr, p))
        if "version" not in m:
            continue
        if m["version"] != version:
            errors.append("%s frame %s: version %d, expected %d"
                          % (label, fr, m["version"], version))
            continue
        if complete is None:
            complete = m["sequence"] == 0
        if m["src"] != source or m["dst"] != collector:
            errors.append("%s frame %s: %s -> %s, expected %s -> %s"
                          % (label, fr, m["src"], m["dst"], source,
                             collector))
        domains.add(m["domain"])
        if not m["domain"]:
            errors.append("%s frame %s: observation domain %s"
                          % (label, fr, m["domain"]))
        elif domain is not None and m["domain"] != domain:
            errors.append("%s frame %s: observation domain %d, expected %d"
                          % (label, fr, m["domain"], domain))
        ndata = len(m["flows"]) + len(m["events"])
        nopt = len(m["options"])
        if version == 9:
            want = ndata + nopt + len(m["templates"]) + \
                len(m["opt_templates"])
            if m["count"] is not None and int(m["count"]) != want:
                errors.append("%s frame %s: v9 count %s, but %d template, "
                              "%d options template, %d data and %d options "
                              "data records" % (
                                  label, fr, m["count"], len(m["templates"]),
                                  len(m["opt_templates"]), ndata, nopt))
            # v9 sequence: messages sent before this one.
            if seq is not None and m["sequence"] != seq:
                errors.append("%s frame %s: sequence %d, expected %d"
                              % (label, fr, m["sequence"], seq))
            seq = m["sequence"] + 1
        else:
            if m["length"] is not None and \
                    int(m["length"]) != m["udp_len"] - 8:
                errors.append("%s frame %s: IPFIX length %s, UDP payload %d"
                              % (label, fr, m["length"], m["udp_len"] - 8))
            # IPFIX sequence: data records sent before this message,
            # options data records included (RFC 7011 section 3.1).
            if seq is not None and m["sequence"] != seq:
                errors.append("%s frame %s: sequence %d, expected %d"
                              % (label, fr, m["sequence"], seq))
            seq = m["sequence"] + ndata + nopt
        if m["templates"] or m["opt_templates"]:
            ntempl += 1
            for e in options_problems(m, version, interfaces, m["domain"]):
                errors.append("%s frame %s: %s" % (label, fr, e))
            st = stats_of(m)
            if complete and st is not None and st != tuple(total):
                errors.append("%s frame %s: exporter totals %s (messages, "
                              "records, octets), but %s were sent before"
                              % (label, fr, st, tuple(total)))
        # Interface names may also follow in a later message, once its
        # options template went out.
        for o in m["options"]:
            if o["set_id"] not in opt_seen and \
                    o["set_id"] not in m["opt_templates"]:
                errors.append("%s frame %s: options data set %d before its "
                              "options template" % (label, fr, o["set_id"]))
            if not m["opt_templates"] and o["set_id"] != T_IFNAME:
                errors.append("%s frame %s: options data set %d outside a "
                              "template message" % (label, fr, o["set_id"]))
        opt_seen.update(m["opt_templates"])
        templates.update(m["templates"])
        for f in m["flows"] + m["events"]:
            if f["set_id"] not in templates:
                errors.append("%s frame %s: data set %d before its template"
                              % (label, fr, f["set_id"]))
        for f in m["flows"]:
            if interfaces:
                want_tid = T_V4_IF if f["family"] == 4 else T_V6_IF
            else:
                want_tid = T_V4 if f["family"] == 4 else T_V6
            if f["set_id"] != want_tid:
                errors.append("%s frame %s: IPv%d record in set %d, expected "
                              "%d" % (label, fr, f["family"], f["set_id"],
                                      want_tid))
            flows.append(f)
        for e in m["events"]:
            want_tid = T_NAT4 if e["family"] == 4 else T_NAT6
            if e["set_id"] != want_tid:
                errors.append("%s frame %s: IPv%d NAT event in set %d, "
                              "expected %d" % (label, fr, e["family"],
                                               e["set_id"], want_tid))
        total[0] += 1
        total[1] += ndata
        total[2] += m["udp_len"] - 8
    if len(domains) > 1:
        errors.append("%s: observation domains differ between messages: %s"
                      % (label, sorted(domains, key=str)))
    if msgs and not ntempl:
        errors.append("%s: no template message on the wire" % label)
    print("%s: %d messages (%d with templates), %d data records, %d NAT "
          "events on the wire, observation domain %s, templates %s"
          % (label, len(msgs), ntempl, len(flows),
             sum(len(m["events"]) for m in msgs),
             sorted(domains, key=str), sorted(templates)))
    return errors, flows


# ------------------------------------------------------------------ matching

def match_times(label, got, conns_by_key, tol):
    """Each received record's start/end within tol ms of its connection's
    kernel start/stop. got: records with start_ms/end_ms."""
    errors, worst = [], 0
    for r in got:
        cands = conns_by_key.get(key(r))
        if not cands or r.get("start_ms") is None:
            continue
        best = None
        for c in cands:
            if c["start_ms"] is None or c["stop_ms"] is None:
                continue
            d = max(abs(r["start_ms"] - c["start_ms"]),
                    abs(r["end_ms"] - c["stop_ms"]))
            best = d if best is None else min(best, d)
        if best is None:
            continue
        worst = max(worst, best)
        if best > tol:
            c = cands[0]
            errors.append("%s: times of %s off by %d ms: record %d..%d, "
                          "kernel %d..%d" % (label, fmt(r), best,
                                             r["start_ms"], r["end_ms"],
                                             c["start_ms"], c["stop_ms"]))
    print("%s: largest start/end deviation from the kernel: %d ms"
          % (label, worst))
    return errors


def load_common(args):
    """Oracle connections (without the export flows) and the export flows."""
    conns = load_oracle(args.ct_text, args.ct_xml)
    ports = set(args.ports)
    export, conns = drop_export_flows(conns, args.source, args.collector,
                                      ports)
    return conns, export


def scenarios(expects, conns):
    """NAME,PROTO,DST,DPORT,reply|noreply -- the oracle has connections to
    DST:DPORT (ICMP: DPORT = type), all with or all without a reply."""
    errs = []
    for want in expects or []:
        name, pname, dst, dport, reply = want.split(",")
        proto, dport = PROTOS[pname], int(dport)
        dst = norm_addr(dst)
        hits = []
        for c in conns:
            o = c["orig"]
            d = o.get("type") if proto in ICMPS else o["dport"]
            if c["proto"] == proto and norm_addr(o["dst"]) == dst and \
                    d == dport:
                hits.append(c)
        if not hits:
            errs.append("scenario %s: no %s connection to %s port %d in the "
                        "oracle" % (name, pname, dst, dport))
            continue
        for c in hits:
            got = c["reply"]["packets"] > 0
            if got != (reply == "reply"):
                errs.append("scenario %s: %s expected, oracle reply packets "
                            "%d" % (name, reply, c["reply"]["packets"]))
        print("  scenario %s: %s" % (name, describe(hits[0])))
    return errs


def cmd_nfx(args):
    """One v9 or IPFIX collector against the oracle: nfcapd's records and
    the decoded wire, field by field, with times."""
    errors = []
    conns, export = load_common(args)
    if args.after_ms is not None:
        conns = [c for c in conns
                 if c["start_ms"] is not None and c["start_ms"] >= args.after_ms]
    print("oracle: %d connections (+%d export flows ignored)"
          % (len(conns), len(export)))
    for c in conns:
        print("  " + describe(c))
    errors.extend(scenarios(args.expect, conns))
    label = "%s (v%d)" % (args.label, args.version)

    expected = []
    by_key = collections.defaultdict(list)
    for c in conns:
        for r in expected_nfx(c):
            expected.append(r)
            by_key[key(r)].append(c)

    if args.nfdump_raw:
        got = parse_nfdump_raw(args.nfdump_raw)
        if args.nat_events:  # checked by `nat`
            got = [r for r in got if r["event"] is None]
        print("%s nfcapd: %d records" % (label, len(got)))
        for r in got:
            if r["version"] != args.version:
                errors.append("%s nfcapd: record of NetFlow v%s: %s"
                              % (label, r["version"], fmt(r)))
            if r["exporter"] != args.source:
                errors.append("%s nfcapd: exporter %s, expected %s"
                              % (label, r["exporter"], args.source))
                break
        for r in got:
            if r["proto"] == 17 and r["dst"] == args.collector and \
                    r["dport"] in args.ports:
                errors.append("%s nfcapd: the daemon exported its own export "
                              "flow: %s" % (label, fmt(r)))
        want = [nfdump_view(args.version, r) for r in expected]
        have = [nfdump_view(args.version, r) for r in got]
        diff = multiset_diff("oracle", want, "nfcapd", have)
        if diff:
            errors.append("%s nfcapd records differ from the conntrack oracle "
                          "(fields nfdump decodes):" % label)
            errors.extend(diff)
        nat = [r for r in got if r["xsrc"] is not None or
               r["xsport"] is not None]
        if expected and not nat:
            errors.append("%s nfcapd: no record shows post-NAT fields" % label)
        view_by_key = collections.defaultdict(list)
        for r in expected:
            view_by_key[key(nfdump_view(args.version, r))].extend(
                by_key[key(r)])
        shown = []
        for r in got:
            s = dict(nfdump_view(args.version, r))
            s["start_ms"], s["end_ms"] = r["start_ms"], r["end_ms"]
            shown.append(s)
        errors.extend(match_times(label + " nfcapd", shown, view_by_key,
                                  args.time_tolerance_ms))

    if args.tshark_json:
        msgs = parse_tshark(args.tshark_json, args.port)
        errs, flows = check_wire(msgs, args.version, args.source,
                                 args.collector, label + " wire",
                                 interfaces=args.interfaces,
                                 domain=wanted_domain(args))
        errors.extend(errs)
        events = [e for m in msgs for e in m["events"]]
        if events and not args.nat_events:
            errors.append("%s wire: %d NAT events on a collector without "
                          "nat_events" % (label, len(events)))
        if args.after_ms is None:
            diff = multiset_diff("oracle", expected, "wire", flows)
            if diff:
                errors.append("%s records on the wire differ from the "
                              "conntrack oracle:" % label)
                errors.extend(diff)
            errors.extend(match_times(label + " wire", flows, by_key,
                                      args.time_tolerance_ms))
    return compare.report(errors)


def wanted_domain(args):
    """The observation domain the headers must carry: --domain, or
    "machine" for the default derived from /etc/machine-id; None: any
    but 0."""
    if args.domain is None:
        return None
    if args.domain == "machine":
        return machine_domain()
    return int(args.domain, 0)


def cmd_v5(args):
    """A v5 collector against the oracle: every IPv4 connection's records,
    and nothing of the IPv6 ones."""
    errors = []
    conns, export = load_common(args)
    v4 = [c for c in conns if c["family"] == 4]
    v6 = [c for c in conns if c["family"] == 6]
    got = compare.parse_nfdump_json(args.nfdump_json)
    print("oracle: %d IPv4 and %d IPv6 connections; v5 nfcapd: %d records"
          % (len(v4), len(v6), len(got)))
    want = []
    times = collections.defaultdict(list)
    for c in v4:
        for k in v5_expected(c):
            want.append(k)
            times[k].append(c)
    have = [r["key"] for r in got]
    ca, cb = collections.Counter(want), collections.Counter(have)
    for k in sorted(ca - cb, key=str):
        errors.append("v5: only in the oracle: %s" % (k,))
    for k in sorted(cb - ca, key=str):
        errors.append("v5: only on the collector: %s" % (k,))
    for r in got:
        if r["key"][0] is not None and ":" in str(r["key"][0]):
            errors.append("v5: an IPv6 record reached the v5 collector: %s"
                          % (r["key"],))
        cands = times.get(r["key"])
        if cands and cands[0]["start_ms"] is not None:
            d = min(max(abs(r["first"] - c["start_ms"]),
                        abs(r["last"] - c["stop_ms"])) for c in cands)
            if d > args.time_tolerance_ms:
                errors.append("v5: times of %s off by %d ms" % (r["key"], d))
    return compare.report(errors)


def cmd_same(args):
    """The same connections on every collector: the tuples of the v9/IPFIX
    records (both directions: pre-NAT original, reply) are those of v5's
    records 1 and 3, and equal between v9 and IPFIX (flowDirection is 0 in
    both directions, and nfdump's v9 reader leaves biflowDirection out)."""
    sets = {}
    for spec in args.collector_dump:
        label, kind, path = spec.split(":", 2)
        tuples = set()
        if kind == "v5":
            for r in compare.parse_nfdump_json(path):
                sa, da, sp, dp, p = r["key"][:5]
                tuples.add((p, sa, da, None if p == 1 else sp,
                            None if p == 1 else dp))
        else:
            for r in parse_nfdump_raw(path):
                tuples.add((r["proto"], r["src"], r["dst"], r["sport"],
                            r["dport"]))
        sets[label] = tuples
    # v5 has every post-NAT and reply record as well: keep only the
    # tuples the v9/IPFIX originals have in the v5 set, and compare the
    # v9/IPFIX sets with each other and with that subset both ways.
    errors = []
    labels = list(sets)
    ref = labels[0]
    for lab in labels[1:]:
        a, b = sets[ref], sets[lab]
        if ref.startswith("v5"):
            missing = b - a
            if missing:
                errors.append("connections on %s missing on %s: %s"
                              % (lab, ref, sorted(missing, key=str)))
            if not b:
                errors.append("%s has no connection" % lab)
        elif a != b:
            errors.append("%s and %s differ: only %s %s, only %s %s"
                          % (ref, lab, ref, sorted(a - b, key=str), lab,
                             sorted(b - a, key=str)))
    nfx = [l for l in labels if not l.startswith("v5")]
    for i in range(1, len(nfx)):
        if sets[nfx[0]] != sets[nfx[i]]:
            errors.append("%s and %s show different connections: only %s %s,"
                          " only %s %s" % (nfx[0], nfx[i], nfx[0],
                                           sorted(sets[nfx[0]] - sets[nfx[i]],
                                                  key=str),
                                           nfx[i],
                                           sorted(sets[nfx[i]] - sets[nfx[0]],
                                                  key=str)))
    for lab in labels:
        print("%s: %d distinct original tuples" % (lab, len(sets[lab])))
    return compare.report(errors)


def check_spans(label, interim, start, end, timeout, contiguous=True,
                slack=0):
    """Interim exports follow each other: each starts where the previous
    one ended (within slack ms), and covers at least the timeout and at
    most twice it plus a second (a connection becomes due once its age
    passes the timeout; the daemon may find it up to one timeout later)."""
    errors = []
    lo, hi = timeout * 1000 - 50, timeout * 2000 + 1000
    for i, x in enumerate(interim):
        span = x[end] - x[start]
        if contiguous and i > 0 and \
                abs(x[start] - interim[i - 1][end]) > slack:
            errors.append("%s: interim export %d starts at %d, the previous "
                          "one ended at %d" % (label, i + 1, x[start],
                                               interim[i - 1][end]))
        if not lo <= span <= hi:
            errors.append("%s: interim export %d covers %d ms, expected "
                          "%d..%d ms for an active timeout of %d s"
                          % (label, i + 1, span, lo, hi, timeout))
    return errors


def pair(text):
    """'PACKETS:BYTES' -> (packets, bytes)."""
    p, _, b = text.partition(":")
    return (int(p), int(b))


def sum_check(label, s, want, recs, args, end):
    """The sums s of one record kind against want: equal; or, after a
    kill -9 (--kill-ms), over by at least nothing and at most what the
    records that end within --window-ms before the kill carried (what was
    exported since the last checkpoint counts twice, nothing more)."""
    over = (s[0] - want[0], s[1] - want[1])
    if args.kill_ms is None:
        if s == want:
            return []
        return ["%s: deltas sum to %d packets %d bytes, expected %d packets "
                "%d bytes (per export: %s)" % (
                    label, s[0], s[1], want[0], want[1],
                    [(x["packets"], x["bytes"]) for x in recs])]
    near = [x for x in recs
            if args.kill_ms - args.window_ms <= x[end] <= args.kill_ms]
    bound = (sum(x["packets"] for x in near), sum(x["bytes"] for x in near))
    print("%s: over-count after kill -9: %d packets %d bytes; bound (the %d "
          "exports ending within %d ms before the kill): %d packets %d bytes"
          % (label, over[0], over[1], len(near), args.window_ms, bound[0],
             bound[1]))
    if 0 <= over[0] <= bound[0] and 0 <= over[1] <= bound[1]:
        return []
    return ["%s: over-count %d packets %d bytes outside 0..%d packets "
            "0..%d bytes (per export: %s)" % (
                label, over[0], over[1], bound[0], bound[1],
                [(x["packets"], x["bytes"]) for x in recs])]


def gap_check(c, want_orig, want_reply, payload):
    """What the connection carried after the daemon's last reading
    (conntrack's final counters minus the target sums): `payload` bytes of
    data in the original direction and none in the reply, plus at most 60
    bytes of headers a packet (IPv4, TCP and its options)."""
    o, r = c["orig"], c["reply"]
    go = (o["packets"] - want_orig[0], o["bytes"] - want_orig[1])
    gr = (r["packets"] - want_reply[0], r["bytes"] - want_reply[1])
    print("carried after the daemon's last reading (not exported): original "
          "%d packets %d bytes (%d bytes of data sent), reply %d packets %d "
          "bytes" % (go[0], go[1], payload, gr[0], gr[1]))
    errors = []
    if not payload <= go[1] <= payload + 60 * go[0]:
        errors.append("original direction: %d packets %d bytes were not "
                      "exported; only the %d bytes of data sent after the "
                      "stop plus headers (at most 60 bytes a packet) may be "
                      "missing" % (go[0], go[1], payload))
    if not 0 <= gr[1] <= 60 * gr[0]:
        errors.append("reply direction: %d packets %d bytes were not "
                      "exported; no data was sent after the stop, only "
                      "headers (at most 60 bytes a packet) may be missing"
                      % (gr[0], gr[1]))
    return errors


def cmd_active(args):
    """The long-lived connection to DST:DPORT: its interim and final
    exports add up exactly to conntrack's final counters, on v5 and on
    IPFIX/v9 (or to --want-orig/--want-reply, what the kernel had counted
    when the daemon took its last reading; or, after a kill -9, to at
    most what was exported since the last checkpoint more)."""
    errors = []
    final_reason = args.final_reason
    conns, _ = load_common(args)
    hits = [c for c in conns if c["proto"] == 6 and
            c["orig"]["dst"] == args.dst and c["orig"]["dport"] == args.dport]
    if len(hits) != 1:
        return compare.report(["oracle: expected 1 TCP connection to %s:%d, "
                               "found %d" % (args.dst, args.dport,
                                             len(hits))])
    c = hits[0]
    o, r = c["orig"], c["reply"]
    if final_reason is None:
        final_reason = end_reason(c)
    print("oracle: " + describe(c))
    life = (c["stop_ms"] - c["start_ms"]) / 1000.0 if c["start_ms"] else 0
    print("oracle: lifetime %.1f s, active timeout %d s" % (life,
                                                            args.timeout))
    if life < 3 * args.timeout:
        errors.append("oracle: connection lived %.1f s, less than 3 x the "
                      "active timeout: the test itself is too short" % life)
    want_orig = (o["packets"], o["bytes"])
    want_reply = (r["packets"], r["bytes"])
    if bool(args.want_orig) != bool(args.want_reply):
        return compare.report(["--want-orig and --want-reply go together"])
    if args.want_orig:
        want_orig, want_reply = pair(args.want_orig), pair(args.want_reply)
        print("target: the kernel's reading at the daemon's stop, original "
              "%d/%d, reply %d/%d" % (want_orig + want_reply))
        errors.extend(gap_check(c, want_orig, want_reply, args.gap_payload))
    end_ref = args.end_ms if args.end_ms is not None else c["stop_ms"]
    spans = args.kill_ms is None

    # The reply record of an export is left out when the reply carried no
    # packet in the interval it covers (SPEC section 3's rule for record 3,
    # which the v9/IPFIX reply record follows too): so the final export may
    # lack it when the interim ones already hold every reply packet.
    if args.nfdump_json:
        got = compare.parse_nfdump_json(args.nfdump_json)
        k1 = (o["src"], o["dst"], o["sport"], o["dport"])
        k2 = (r["dst"], r["src"], r["dport"], r["sport"])
        k3 = (r["src"], r["dst"], r["sport"], r["dport"])
        for name, k, want, reply in (
                ("record 1 (pre-NAT)", k1, want_orig, False),
                ("record 2 (post-NAT)", k2, want_orig, False),
                ("record 3 (reply)", k3, want_reply, True)):
            recs = sorted((x for x in got if x["key"][:4] == k and
                           x["key"][4] == 6), key=lambda x: x["last"])
            s = (sum(x["key"][5] for x in recs),
                 sum(x["key"][6] for x in recs))
            print("v5 %s: %d exports, packets %s, bytes %s; sum %d/%d, "
                  "expected %d/%d" % (name, len(recs),
                                      [x["key"][5] for x in recs],
                                      [x["key"][6] for x in recs],
                                      s[0], s[1], want[0], want[1]))
            print("v5 %s: spans (ms) %s" % (
                name, [x["last"] - x["first"] for x in recs]))
            errors.extend(sum_check(
                "v5 " + name, s, want,
                [dict(x, packets=x["key"][5], bytes=x["key"][6])
                 for x in recs], args, "last"))
            need = args.min_interim + (0 if reply else 1)
            if len(recs) < need:
                errors.append("v5 %s: %d exports, expected at least %d "
                              "interim%s" % (name, len(recs),
                                             args.min_interim,
                                             "" if reply else
                                             " + the final one"))
            if reply:
                zero = [x["key"][5:] for x in recs if x["key"][5] == 0]
                if zero:
                    errors.append("v5 %s: %d exports with no reply packet "
                                  "(record 3 must be left out then)"
                                  % (name, len(zero)))
                continue
            # v5 times are uptime ms that the collector turns into wall
            # time by each datagram's header, whose uptime is whole ms:
            # records of two datagrams may land 1 ms apart, and further
            # by as much as the wall clock moved against the boot clock
            # between the two datagrams.
            if spans:
                errors.extend(check_spans("v5 " + name, recs[:-1], "first",
                                          "last", args.timeout,
                                          slack=1 + args.clock_moved_ms))
            if recs and end_ref is not None and \
                    abs(recs[-1]["last"] - end_ref) > \
                    args.time_tolerance_ms:
                errors.append("v5 %s: final record ends %d, expected %d"
                              % (name, recs[-1]["last"], end_ref))
            if recs and c["start_ms"] is not None and \
                    abs(recs[0]["first"] - c["start_ms"]) > \
                    args.time_tolerance_ms:
                errors.append("v5 %s: first export starts %d, conntrack's "
                              "start %d" % (name, recs[0]["first"],
                                            c["start_ms"]))

    if args.nfdump_raw:
        got = parse_nfdump_raw(args.nfdump_raw)
        label = "v%d" % args.version
        for d, side, want, name in ((0, o, want_orig, "original"),
                                    (1, r, want_reply, "reply")):
            # flowDirection is 0 both ways: the direction shows in the
            # tuple (and, on IPFIX, in biflowDirection).
            recs = sorted((x for x in got if x["proto"] == 6 and
                           x["direction"] == 0 and
                           x["biflow"] in (None, 0, d + 1) and
                           x["src"] == norm_addr(side["src"]) and
                           x["dport"] == side["dport"] and
                           x["sport"] == side["sport"]),
                          key=lambda x: (x["end_ms"], x["reason"] or 0))
            s = (sum(x["packets"] for x in recs),
                 sum(x["bytes"] for x in recs))
            reasons = [x["reason"] for x in recs]
            print("%s %s direction: %d records, end reasons %s, packets %s, "
                  "bytes %s; sum %d/%d, expected %d/%d" % (
                      label, name, len(recs), reasons,
                      [x["packets"] for x in recs],
                      [x["bytes"] for x in recs], s[0], s[1], want[0],
                      want[1]))
            print("%s %s direction: record spans (ms) %s" % (
                label, name, [x["end_ms"] - x["start_ms"] for x in recs]))
            errors.extend(sum_check("%s %s direction" % (label, name), s,
                                    want, recs, args, "end_ms"))
            if d == 1:
                zero = [x for x in recs if x["packets"] == 0]
                if zero:
                    errors.append("%s reply direction: %d records with no "
                                  "packet (the reply record must be left out "
                                  "then): %s" % (label, len(zero),
                                                 fmt(zero[0])))
            if args.version == 10:
                interim = [x for x in recs if x["reason"] == END_ACTIVE]
                if len(interim) < args.min_interim:
                    errors.append("%s %s direction: %d records with "
                                  "flowEndReason 2, expected at least %d "
                                  "(end reasons %s)" % (
                                      label, name, len(interim),
                                      args.min_interim, reasons))
                finals = reasons.count(final_reason)
                if finals > 1 or (d == 0 and finals != 1) or (
                        finals and reasons[-1] != final_reason) or \
                        len(interim) + finals != len(recs):
                    errors.append("%s %s direction: expected flowEndReason 2 "
                                  "for the interim records and %d for the "
                                  "final one (%s), last; end reasons in time "
                                  "order %s" % (label, name, final_reason,
                                                "always" if d == 0 else
                                                "unless its delta is empty",
                                                reasons))
                # A reply record left out breaks the chain of the reply
                # direction's intervals, not their lengths.
                if spans:
                    errors.extend(check_spans(
                        "%s %s direction" % (label, name), interim,
                        "start_ms", "end_ms", args.timeout,
                        contiguous=d == 0))
                final = [x for x in recs if x["reason"] == final_reason]
            else:
                if len(recs) < args.min_interim + (1 - d):
                    errors.append("%s %s direction: %d records, expected at "
                                  "least %d interim%s" % (
                                      label, name, len(recs),
                                      args.min_interim,
                                      " + the final one" if d == 0 else ""))
                final = recs[-1:] if d == 0 else []
            if final and end_ref is not None and \
                    abs(final[-1]["end_ms"] - end_ref) > \
                    args.time_tolerance_ms:
                errors.append("%s %s direction: final record ends %d, "
                              "expected %d" % (
                                  label, name, final[-1]["end_ms"],
                                  end_ref))
            if recs and c["start_ms"] is not None and \
                    abs(recs[0]["start_ms"] - c["start_ms"]) > \
                    args.time_tolerance_ms:
                errors.append("%s %s direction: first record starts %d, "
                              "conntrack's start %d" % (
                                  label, name, recs[0]["start_ms"],
                                  c["start_ms"]))
            for x in recs:
                if x["xsrc"] is None or x["xsport"] is None:
                    errors.append("%s %s direction: record without post-NAT "
                                  "fields: %s" % (label, name, fmt(x)))
                    break
    return compare.report(errors)


def is_translated(c):
    """NAT changed the connection: addresses, ports or the ICMP id."""
    o, r = c["orig"], c["reply"]
    if norm_addr(r["dst"]) != norm_addr(o["src"]) or \
            norm_addr(r["src"]) != norm_addr(o["dst"]):
        return True
    if c["proto"] in ICMPS:
        return r.get("icmp_id") != o.get("icmp_id")
    return r["dport"] != o["sport"] or r["sport"] != o["dport"]


EVENT_FIELDS = ("event", "proto", "src", "sport", "dst", "dport", "xsrc",
                "xsport", "xdst", "xdport")


def expected_events(c, numbering):
    """The create and delete events of a translated connection: pre-NAT
    the original tuple, post-NAT the reply's swapped; ICMP: the ids in the
    source ports, destination ports 0."""
    o, r = c["orig"], c["reply"]
    if numbering == "rfc8158" and c["family"] == 4:
        create, delete = 4, 5
    else:
        create, delete = 1, 2
    icmp = c["proto"] in ICMPS
    base = {"proto": c["proto"], "src": norm_addr(o["src"]),
            "dst": norm_addr(o["dst"]), "xsrc": norm_addr(r["dst"]),
            "xdst": norm_addr(r["src"]),
            "sport": o.get("icmp_id") if icmp else o["sport"],
            "dport": 0 if icmp else o["dport"],
            "xsport": r.get("icmp_id") if icmp else r["dport"],
            "xdport": 0 if icmp else r["sport"]}
    return (dict(base, event=create, obs_ms=c["start_ms"]),
            dict(base, event=delete, obs_ms=c["stop_ms"]))


def ekey(e, fields=EVENT_FIELDS):
    """A comparable tuple of an event (the fields given)."""
    return tuple(e.get(f) for f in fields)


def compare_events(label, want, got, fields, tol, by_key):
    """Multiset comparison of events on the fields given; then each
    received event's times against its connection's kernel times: the
    observation time of a create is the start, of a delete the stop; the
    start of both is the start."""
    errs = []
    ka = collections.Counter(ekey(e, fields) for e in want)
    kb = collections.Counter(ekey(e, fields) for e in got)
    for k in sorted(ka - kb, key=str):
        errs.append("%s: missing event %s" % (label, dict(zip(fields, k))))
    for k in sorted(kb - ka, key=str):
        errs.append("%s: unexpected event (or one too many) %s"
                    % (label, dict(zip(fields, k))))
    worst = 0
    for e in got:
        c = by_key.get(ekey(e, fields))
        if c is None or c["start_ms"] is None:
            continue
        create = e["event"] in (1, 4)
        when = c["start_ms"] if create else c["stop_ms"]
        # flowEndMilliseconds: the event's time too
        for name, have, ref in (
                ("observation time", e.get("obs_ms"), when),
                ("end", e.get("end_ms"), when),
                ("start", e.get("start_ms"), c["start_ms"])):
            if have is None:
                continue
            worst = max(worst, abs(have - ref))
            if abs(have - ref) > tol:
                errs.append("%s: event %d of ct id %d: %s %d, kernel %d"
                            % (label, e["event"], c["id"], name, have, ref))
    print("%s: %d events; largest time deviation from the kernel %d ms"
          % (label, len(got), worst))
    return errs


def parse_nfacctd_csv(path):
    """nfacctd's print plugin (csv): one event a line, by the header."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        head = None
        for line in f:
            cols = line.rstrip("\n").split(",")
            if cols and cols[0] == "NAT_EVENT" or "NAT_EVENT" in cols:
                head = cols
                continue
            if head is None or len(cols) != len(head):
                continue
            out.append(dict(zip(head, cols)))
    return out


def cmd_nat(args):
    """NAT session events of one collector against the oracle: exactly one
    create and one delete per translated connection, none for the others,
    pre/post-NAT addresses and ports equal to conntrack's, natEvent values
    of the numbering, times from the kernel's; with --events-only no
    traffic record at all."""
    errors = []
    conns, export = load_common(args)
    nat = [c for c in conns if is_translated(c)]
    plain = [c for c in conns if not is_translated(c)]
    print("oracle: %d translated and %d untranslated connections (+%d "
          "export flows)" % (len(nat), len(plain), len(export)))
    for c in nat:
        print("  nat:   " + describe(c))
    for c in plain:
        print("  plain: " + describe(c))
    if args.min_translated and len(nat) < args.min_translated:
        errors.append("oracle: %d translated connections, expected at least "
                      "%d" % (len(nat), args.min_translated))
    if args.min_plain and len(plain) < args.min_plain:
        errors.append("oracle: %d untranslated connections, expected at "
                      "least %d" % (len(plain), args.min_plain))
    want, by_key = [], {}
    for c in nat:
        for e in expected_events(c, args.numbering):
            want.append(e)
            by_key[ekey(e)] = c
    label = "%s (v%d, %s)" % (args.label, args.version, args.numbering)
    tol = args.time_tolerance_ms

    if args.tshark_json:
        msgs = parse_tshark(args.tshark_json, args.port)
        errs, flows = check_wire(msgs, args.version, args.source,
                                 args.collector, label + " wire",
                                 interfaces=args.interfaces,
                                 domain=wanted_domain(args))
        errors.extend(errs)
        got = [e for m in msgs for e in m["events"]]
        errors.extend(compare_events(label + " wire", want, got,
                                     EVENT_FIELDS, tol, by_key))
        for e in got:
            if e["zone"] != 0:
                errors.append("%s wire: event with zone %s, the lab's is 0"
                              % (label, e["zone"]))
        if args.events_only and flows:
            errors.append("%s wire: %d traffic records on an events-only "
                          "collector" % (label, len(flows)))
        if not args.events_only and not flows:
            errors.append("%s wire: no traffic record" % label)
        if args.interfaces:
            names = [o.get("cflow.if_name") for m in msgs
                     for o in m["options"] if o["set_id"] == T_IFNAME]
            print("%s wire: interface names %s" % (label, sorted(set(
                n for n in names if n))))
            for want_if in args.ifname or []:
                if want_if not in names:
                    errors.append("%s wire: no interface name record for %s"
                                  % (label, want_if))

    if args.nfdump_raw:
        recs = parse_nfdump_raw(args.nfdump_raw)
        got = [r for r in recs if r["event"] is not None]
        flows = [r for r in recs if r["event"] is None]
        # nfdump shows an ICMP event's ICMP fields instead of its pre-NAT
        # ports: compare the post-NAT ports there.
        fields = EVENT_FIELDS
        for r in got:
            if r["proto"] in ICMPS:
                r["sport"] = r["dport"] = None
        w = [dict(e, sport=None, dport=None) if e["proto"] in ICMPS else e
             for e in want]
        # nfdump 1.7.1's IPFIX reader does not decode the IPv6 post-NAT
        # addresses (IEs 281/282; its v9 reader does): compare the rest
        # there, and say so.
        if args.version == 10 and any(":" in (e["src"] or "") for e in w):
            print("NOTE: nfdump 1.7.1 does not decode IPFIX IEs 281/282: "
                  "IPv6 NAT events compared without their post-NAT "
                  "addresses")
            for r in got:
                if ":" in (r["src"] or ""):
                    r["xsrc"] = r["xdst"] = None
            w = [dict(e, xsrc=None, xdst=None) if ":" in (e["src"] or "")
                 else e for e in w]
        bk = {ekey(e): by_key[ekey(x)] for e, x in zip(w, want)}
        errors.extend(compare_events(label + " nfcapd", w, got, fields, tol,
                                     bk))
        if args.events_only and flows:
            errors.append("%s nfcapd: %d traffic records on an events-only "
                          "collector" % (label, len(flows)))

    if args.nfacctd_csv:
        rows = parse_nfacctd_csv(args.nfacctd_csv)
        got = []
        for row in rows:
            def gi(k, row=row):
                v = row.get(k)
                return int(v) if v not in (None, "") else None
            got.append({"event": gi("NAT_EVENT"), "proto": pnum(
                row.get("PROTOCOL")), "src": norm_addr(row.get("SRC_IP")),
                "dst": norm_addr(row.get("DST_IP")), "sport": gi("SRC_PORT"),
                "dport": gi("DST_PORT"),
                "xsrc": norm_addr(row.get("POST_NAT_SRC_IP")),
                "xdst": norm_addr(row.get("POST_NAT_DST_IP")),
                "xsport": gi("POST_NAT_SRC_PORT"),
                "xdport": gi("POST_NAT_DST_PORT"),
                "start_ms": epoch_ms(row.get("TIMESTAMP_START"))})
        ev = [e for e in got if e["event"]]
        errs = compare_events(label + " nfacctd", want, ev, EVENT_FIELDS,
                              tol, by_key)
        errors.extend(errs)
        if args.events_only and len(ev) != len(got):
            errors.append("%s nfacctd: %d rows without a NAT event on an "
                          "events-only collector" % (label,
                                                     len(got) - len(ev)))
    return compare.report(errors)


def pnum(text):
    """A protocol as nfacctd prints it (name or number) -> number."""
    if text is None or text == "":
        return None
    if text.isdigit():
        return int(text)
    return dict(PROTOS, ipv6_icmp=58, **{"ipv6-icmp": 58}).get(text.lower())


def epoch_ms(text):
    """'1796599328.965000' (timestamps_since_epoch) -> ms."""
    if not text:
        return None
    sec, _, frac = text.partition(".")
    return int(sec) * 1000 + int((frac + "000")[:3])


def cmd_oracle(args):
    """Print the parsed oracle (debugging aid)."""
    for c in load_oracle(args.ct_text, args.ct_xml):
        print(json.dumps(c, sort_keys=True))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--ct-text", required=True)
        p.add_argument("--ct-xml")
        p.add_argument("--source", default="198.51.100.1")
        p.add_argument("--collector", default="198.51.100.2")
        p.add_argument("--ports", type=int, nargs="+", default=[2055],
                       help="every collector port (their flows are ignored)")
        p.add_argument("--time-tolerance-ms", type=int, default=1000)

    p = sub.add_parser("nfx")
    common(p)
    p.add_argument("--version", type=int, choices=(9, 10), required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--label", default="collector")
    p.add_argument("--nfdump-raw")
    p.add_argument("--tshark-json")
    p.add_argument("--after-ms", type=int,
                   help="only connections started at or after this epoch ms")
    p.add_argument("--expect", action="append",
                   help="NAME,PROTO,DST,DPORT,reply|noreply")
    p.add_argument("--interfaces", action="store_true",
                   help="the collector has interfaces on (templates 262/263)")
    p.add_argument("--nat-events", action="store_true",
                   help="the collector gets NAT events too (see `nat`)")
    p.add_argument("--domain",
                   help="observation domain of every header (a number, or "
                        "'machine': derived from /etc/machine-id)")
    p.set_defaults(func=cmd_nfx)

    p = sub.add_parser("v5")
    common(p)
    p.add_argument("--nfdump-json", required=True)
    p.set_defaults(func=cmd_v5)

    p = sub.add_parser("same")
    p.add_argument("--collector-dump", action="append", required=True,
                   help="LABEL:v5|nfx:PATH (nfdump -o json for v5, -o raw "
                        "otherwise)")
    p.set_defaults(func=cmd_same)

    p = sub.add_parser("active")
    common(p)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, required=True)
    p.add_argument("--timeout", type=int, required=True)
    p.add_argument("--min-interim", type=int, default=2)
    p.add_argument("--version", type=int, choices=(9, 10), default=10)
    p.add_argument("--nfdump-json")
    p.add_argument("--nfdump-raw")
    p.add_argument("--clock-moved-ms", type=int, default=0,
                   help="how far the wall clock moved against the boot "
                        "clock meanwhile (clockwatch.py)")
    p.add_argument("--final-reason", type=int,
                   help="flowEndReason of the final export (default: 3 for "
                        "TCP closed by FIN or RST, else 1; 4: ended while "
                        "no daemon listened, exported at the next start)")
    p.add_argument("--end-ms", type=int,
                   help="epoch ms the final export must end at (default: "
                        "conntrack's stop)")
    p.add_argument("--want-orig", metavar="PACKETS:BYTES",
                   help="what the exports must add up to in the original "
                        "direction instead of conntrack's final counters "
                        "(with --want-reply)")
    p.add_argument("--want-reply", metavar="PACKETS:BYTES")
    p.add_argument("--gap-payload", type=int, default=0,
                   help="with --want-orig: bytes of data the original "
                        "direction carried after that reading")
    p.add_argument("--kill-ms", type=int,
                   help="epoch ms of a kill -9 of the daemon: the sums may "
                        "exceed the target by what the exports ending "
                        "within --window-ms before it carried")
    p.add_argument("--window-ms", type=int, default=0)
    p.set_defaults(func=cmd_active)

    p = sub.add_parser("nat")
    common(p)
    p.add_argument("--version", type=int, choices=(9, 10), required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--label", default="collector")
    p.add_argument("--numbering", choices=("rfc8158", "legacy"),
                   required=True)
    p.add_argument("--events-only", action="store_true",
                   help="the collector has flows false")
    p.add_argument("--interfaces", action="store_true")
    p.add_argument("--ifname", action="append",
                   help="an interface name the options must carry")
    p.add_argument("--domain")
    p.add_argument("--min-translated", type=int, default=0)
    p.add_argument("--min-plain", type=int, default=0)
    p.add_argument("--nfdump-raw")
    p.add_argument("--nfacctd-csv")
    p.add_argument("--tshark-json")
    p.set_defaults(func=cmd_nat)

    p = sub.add_parser("oracle")
    p.add_argument("--ct-text", required=True)
    p.add_argument("--ct-xml")
    p.set_defaults(func=cmd_oracle)

    args = ap.parse_args()
    try:
        return args.func(args)
    except compare.Failure as e:
        print("FAIL\n" + str(e))
        return 1


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    sys.exit(main())
