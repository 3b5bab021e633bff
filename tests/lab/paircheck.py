#!/usr/bin/python3
"""Checks of the firewall-pair lab (tests/lab/pair.sh): what the collector
got from each node against each node's conntrack events.

A node is given as NAME=EXPORTER_IP=CT_TEXT (the text stream of its oracle,
`conntrack -E -o extended,id,timestamp`).  An event caused by a netlink
request (conntrackd injecting or removing an entry, `conntrack -I/-D`) is
printed by conntrack with "[USERSPACE] portid=N"; the kernel's own carry no
such tag.  A selection is PROTO:DST:DPORT on a connection's original tuple.

  paircheck.py exported --nfdump-json J --exporter IP --ct-text T
      --select S [--select S ...] [--kernel-only]
    every connection of the oracle that matches a selection (and, with
    --kernel-only, ended by the kernel) is exported by IP with the records
    and counters SPEC section 3 asks for; exit 1 if not (or none matches)
  paircheck.py summary --nfdump-json J --node N [--node N ...]
    one line a node: records it exported (those with 0 packets apart) and
    its oracle's events (by the kernel, by a request, with 0 counters)
  paircheck.py span --nfdump-json J --node N [--node N ...] --select S
    for each connection that matches: the bytes and packets of each
    direction that each node's kernel counted (its DESTROY events) and
    that each node exported; a JSON line per connection
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the lab's own parsers)


def parse_node(text):
    """NAME=IP=CT_TEXT -> (name, ip, path)."""
    parts = text.split("=", 2)
    if len(parts) != 3:
        raise SystemExit("--node wants NAME=IP=CT_TEXT, got " + text)
    return tuple(parts)


def parse_select(text):
    """PROTO:DST:DPORT -> (proto number, dst, dport)."""
    proto, dst, dport = text.split(":")
    return compare.PROTOS[proto], dst, int(dport)


def matches(conn, sels):
    o = conn["orig"]
    return any(conn["proto"] == p and o["dst"] == d and o["dport"] == dp
               for p, d, dp in sels)


def ct_events(path):
    """Every NEW and DESTROY event of a text oracle: dicts with type,
    proto, orig, reply (counters included) and userspace (bool)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "[NEW]" in line:
                kind = "new"
            elif "[DESTROY]" in line:
                kind = "destroy"
            else:
                continue
            ev = compare.parse_ct_text_line(line)
            if ev is None:
                continue
            ev["type"] = kind
            ev["userspace"] = "[USERSPACE]" in line
            out.append(ev)
    return out


def tuple_key(conn):
    o = conn["orig"]
    return (conn["proto"], o["src"], o["sport"], o["dst"], o["dport"])


def records_of(recs, ip):
    return [r for r in recs if r["router"] == ip]


def cmd_exported(args):
    sels = [parse_select(s) for s in args.select]
    recs = records_of(compare.parse_nfdump_json(args.nfdump_json),
                      args.exporter)
    have = collections.Counter(r["key"] for r in recs)
    # The text stream alone: the XML one lacks some of the DESTROY events
    # a request caused (conntrackd's), and counters are all this needs.
    conns = [c for c in ct_events(args.ct_text)
             if c["type"] == "destroy" and matches(c, sels)
             and not (args.kernel_only and c["userspace"])]
    if not conns:
        print("FAIL: no connection of the oracle matches %s"
              % " ".join(args.select))
        return 1
    bad = 0
    for c in conns:
        for num, key in compare.expected_records(c):
            if have[key] > 0:
                have[key] -= 1
                print("ok: %s exported record %d %s"
                      % (args.exporter, num, compare.fmt_key(key)))
            else:
                bad += 1
                print("FAIL: %s did not export record %d %s (conntrack id %d)"
                      % (args.exporter, num, compare.fmt_key(key), c["id"]))
    if bad:
        print("records %s exported:" % args.exporter)
        for r in recs:
            print("  " + compare.fmt_key(r["key"]))
    return 1 if bad else 0


def cmd_summary(args):
    recs = compare.parse_nfdump_json(args.nfdump_json)
    for spec in args.node:
        name, ip, text = parse_node(spec)
        mine = records_of(recs, ip)
        zero = sum(1 for r in mine if r["key"][5] == 0)
        evs = ct_events(text)
        des = [e for e in evs if e["type"] == "destroy"]
        new_req = sum(1 for e in evs if e["type"] == "new" and e["userspace"])
        des_req = sum(1 for e in des if e["userspace"])
        des_zero = sum(1 for e in des if e["orig"]["packets"] == 0
                       and e["reply"]["packets"] == 0)
        print("%s (%s): exported %d records, %d with 0 packets; conntrack: "
              "%d NEW (%d by a request), %d DESTROY (%d by the kernel, %d by "
              "a request, %d with 0 counters)"
              % (name, ip, len(mine), zero,
                 sum(1 for e in evs if e["type"] == "new"), new_req,
                 len(des), len(des) - des_req, des_req, des_zero))
    return 0


def cmd_span(args):
    sel = [parse_select(args.select)]
    recs = compare.parse_nfdump_json(args.nfdump_json)
    nodes = [parse_node(s) for s in args.node]
    events = {name: ct_events(text) for name, _, text in nodes}
    keys = sorted({tuple_key(e) for evs in events.values() for e in evs
                   if matches(e, sel)})
    for key in keys:
        proto, src, sport, dst, dport = key
        out = {"connection": "%s %s:%d -> %s:%d" % (proto, src, sport, dst,
                                                      dport)}
        for name, ip, _ in nodes:
            kern = {"orig_bytes": 0, "orig_packets": 0, "reply_bytes": 0,
                    "reply_packets": 0, "destroys": []}
            for e in events[name]:
                if e["type"] != "destroy" or tuple_key(e) != key:
                    continue
                kern["orig_bytes"] += e["orig"]["bytes"]
                kern["orig_packets"] += e["orig"]["packets"]
                kern["reply_bytes"] += e["reply"]["bytes"]
                kern["reply_packets"] += e["reply"]["packets"]
                kern["destroys"].append(
                    "%s %d/%d bytes" % ("request" if e["userspace"]
                                        else "kernel", e["orig"]["bytes"],
                                        e["reply"]["bytes"]))
            exp = {"orig_bytes": 0, "orig_packets": 0, "records": 0}
            for r in records_of(recs, ip):
                k = r["key"]
                if k[:5] == (src, dst, sport, dport, proto):
                    exp["records"] += 1
                    exp["orig_bytes"] += k[6]
                    exp["orig_packets"] += k[5]
            out[name] = {"kernel": kern, "exported": exp}
        out["orig_bytes"] = {
            "kernels": sum(out[n]["kernel"]["orig_bytes"] for n, _, _ in nodes),
            "exported": sum(out[n]["exported"]["orig_bytes"]
                            for n, _, _ in nodes)}
        print(json.dumps(out, sort_keys=True))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("exported")
    p.add_argument("--nfdump-json", required=True)
    p.add_argument("--exporter", required=True)
    p.add_argument("--ct-text", required=True)
    p.add_argument("--select", action="append", required=True)
    p.add_argument("--kernel-only", action="store_true")
    p.set_defaults(func=cmd_exported)
    p = sub.add_parser("summary")
    p.add_argument("--nfdump-json", required=True)
    p.add_argument("--node", action="append", required=True)
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("span")
    p.add_argument("--nfdump-json", required=True)
    p.add_argument("--node", action="append", required=True)
    p.add_argument("--select", required=True)
    p.set_defaults(func=cmd_span)
    args = ap.parse_args()
    try:
        return args.func(args)
    except compare.Failure as e:
        print("FAIL: " + str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
