#!/usr/bin/python3
"""The exports of connections compared with conntrack's own counters, for
the systemd unit test (tests/integration/systemd_unit.sh).

  spancheck.py EVENTS V5 IPFIX CHECK...

EVENTS is the output of `conntrack -E -e NEW,DESTROY -o timestamp,id,extended`
(the oracle: each DESTROY line carries the connection's final counters), V5
what nfdump stored of the NetFlow v5 collector, one record a line
(`-o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt'`), IPFIX what tshark decoded of the
IPFIX collector's datagrams, one datagram a line, tab-separated fields with
one value per record, comma-separated: srcaddr, srcport, dstaddr, dstport,
protocol, packets, octets, flow_end_reason.  Each CHECK names the
connections by protocol and destination port (those that conntrack
destroyed) and says what their exports must be:

  once:LABEL:PROTO:DPORT:N
      N connections, each exported exactly once: one v5 record 1 with the
      original direction's packets and bytes, one record 3 with the reply's,
      and on IPFIX one record per direction with these counters, flowEndReason
      3 (end of flow).
  exact:LABEL:PROTO:DPORT:MIN
      one connection, exported in pieces (interim exports of the active
      timeout, then the final one) whose sums per direction equal its
      counters, on v5 and IPFIX; at least MIN interim exports (IPFIX
      flowEndReason 2) before the one final export (3).
  ended:LABEL:PROTO:DPORT:OP:OB:RP:RB
      one connection that ended while no daemon ran, its counters read just
      before the stop being OP/OB packets/bytes (original direction) and
      RP/RB (reply): the sums per direction of its exports lie between these
      and conntrack's final counters, and equal these (what was counted
      until the stop); on IPFIX exactly one forced end (flowEndReason 4),
      no end of flow (3), the rest interim exports (2).
  handover:LABEL:PROTO:DPORT:OP:OB:RP:RB
      one connection that lived through one handover (README "Firewall
      pairs": the node lost its role while the connection was idle, its
      counters then being OP/OB and RP/RB): exported in exactly two pieces
      per direction, the handover's interim export with exactly these
      (IPFIX flowEndReason 2) and the final one with the rest (3), whose
      sums equal conntrack's final counters, on v5 and IPFIX.
  none:LABEL:PROTO:DPORT:N
      N connections that began and ended while the node was standby: no
      record of them, in either direction, on v5 or IPFIX.

The final export's reply record is left out when the reply carried no
packet since the previous export (SPEC section 3, record 3): in the reply
direction of exact and ended the final record may be missing (said so).

Prints one "ok:" or "FAIL:" line per condition, with the numbers, and exits
1 if any failed.
"""

import re
import sys

FAILS = 0
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}


def ok(cond, text):
    global FAILS
    print(("ok: " if cond else "FAIL: ") + text)
    if not cond:
        FAILS += 1


def destroys(path):
    """The DESTROY events: proto number, orig and reply tuples and counters."""
    out = []
    for line in open(path, errors="replace"):
        if "[DESTROY]" not in line:
            continue
        words = line.split()
        proto = None
        for i, w in enumerate(words):
            if w in PROTO and i + 1 < len(words) and words[i + 1].isdigit():
                proto = int(words[i + 1])
                break
        dirs = [{}, {}]
        d = 0
        for key, val in re.findall(r"\b(src|dst|sport|dport|packets|bytes)=(\S+)", line):
            if key in dirs[d] and d == 0:
                d = 1
            dirs[d][key] = val
        ident = re.search(r"\bid=(\d+)", line)
        out.append({"proto": proto, "o": dirs[0], "r": dirs[1],
                    "id": ident.group(1) if ident else "?", "line": line.strip()})
    return out


def v5_records(path):
    recs = []
    for line in open(path, errors="replace"):
        f = [x.strip() for x in line.split("|")]
        if len(f) != 7 or not f[0].isdigit():
            continue
        recs.append({"key": (int(f[0]), f[1], int(f[2]), f[3], int(f[4])),
                     "pkts": int(f[5]), "bytes": int(f[6])})
    return recs


def ipfix_records(path):
    recs = []
    for n, line in enumerate(open(path, errors="replace"), 1):
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 8 or not cols[0]:
            continue
        vals = [c.split(",") for c in cols[:8]]
        if len({len(v) for v in vals}) != 1:
            ok(False, "IPFIX datagram %d: fields of unequal count %s" %
               (n, [len(v) for v in vals]))
            continue
        for s, sp, d, dp, pr, pk, by, why in zip(*vals):
            recs.append({"key": (int(pr), s, int(sp), d, int(dp)),
                         "pkts": int(pk), "bytes": int(by), "reason": int(why)})
    return recs


def keys(ev):
    o, r = ev["o"], ev["r"]
    k1 = (ev["proto"], o["src"], int(o["sport"]), o["dst"], int(o["dport"]))
    k3 = (ev["proto"], r["src"], int(r["sport"]), r["dst"], int(r["dport"]))
    return k1, k3


def counters(side):
    return int(side.get("packets", -1)), int(side.get("bytes", -1))


def sums(recs):
    return sum(x["pkts"] for x in recs), sum(x["bytes"] for x in recs)


def fmt(pb):
    return "%d pkts/%d bytes" % pb


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    evs = destroys(argv[1])
    v5 = v5_records(argv[2])
    ipfix = ipfix_records(argv[3])
    print("  %d DESTROY events, %d v5 records, %d IPFIX records" %
          (len(evs), len(v5), len(ipfix)))
    for spec in argv[4:]:
        f = spec.split(":")
        kind, label, proto, dport = f[0], f[1], PROTO[f[2]], int(f[3])
        mine = [e for e in evs if e["proto"] == proto and
                int(e["o"].get("dport", -1)) == dport]
        want = int(f[4]) if kind in ("once", "none") else 1
        ok(len(mine) == want, "%s: %d DESTROY of %s to port %d (want %d)" %
           (label, len(mine), f[2], dport, want))
        # the final export's flowEndReason: 3 (end of flow) for TCP, which
        # these connections close; 1 (idle timeout) for UDP
        end = 3 if proto == 6 else 1
        for ev in mine:
            k1, k3 = keys(ev)
            name = "%s %s:%d->%s:%d (id %s)" % (label, k1[1], k1[2], k1[3], k1[4], ev["id"])
            for what, key, side in (("sent", k1, ev["o"]), ("reply", k3, ev["r"])):
                ct = counters(side)
                r5 = [x for x in v5 if x["key"] == key]
                rx = [x for x in ipfix if x["key"] == key]
                s5, sx = sums(r5), sums(rx)
                reasons = sorted(x["reason"] for x in rx)
                tag = "%s, %s" % (name, what)
                if kind == "once":
                    ok(len(r5) == 1 and s5 == ct,
                       "%s: v5 %d record(s) %s, conntrack %s" % (tag, len(r5), fmt(s5), fmt(ct)))
                    ok(len(rx) == 1 and sx == ct and reasons == [end],
                       "%s: IPFIX %d record(s) %s reasons %s, conntrack %s" %
                       (tag, len(rx), fmt(sx), reasons, fmt(ct)))
                elif kind == "exact":
                    least = int(f[4])
                    finals = (1,) if what == "sent" else (0, 1)
                    ok(s5 == ct and len(r5) >= least + finals[0],
                       "%s: v5 %d records sum to %s, conntrack %s" % (tag, len(r5), fmt(s5), fmt(ct)))
                    ok(sx == ct and reasons.count(end) in finals and
                       reasons.count(2) == len(rx) - reasons.count(end) and
                       reasons.count(2) >= least,
                       "%s: IPFIX %d records (%d interim, %d final%s) sum to %s, conntrack %s" %
                       (tag, len(rx), reasons.count(2), reasons.count(end),
                        "" if reasons.count(end) else ": no reply since the last interim export",
                        fmt(sx), fmt(ct)))
                elif kind == "ended":
                    i = 4 if what == "sent" else 6
                    pre = (int(f[i]), int(f[i + 1]))
                    ok(pre[0] <= s5[0] <= ct[0] and pre[1] <= s5[1] <= ct[1],
                       "%s: v5 %d records sum to %s: at least the %s counted until the stop, "
                       "at most conntrack's final %s" % (tag, len(r5), fmt(s5), fmt(pre), fmt(ct)))
                    ok(s5 == pre,
                       "%s: v5 exported exactly what was counted until the stop (%s), "
                       "not what it carried while stopped (%s)" %
                       (tag, fmt(pre), fmt((ct[0] - pre[0], ct[1] - pre[1]))))
                    finals = (1,) if what == "sent" else (0, 1)
                    ok(sx == s5 and reasons.count(4) in finals and reasons.count(3) == 0 and
                       reasons.count(2) == len(rx) - reasons.count(4),
                       "%s: IPFIX %d records (%d interim, %d forced end%s) sum to %s" %
                       (tag, len(rx), reasons.count(2), reasons.count(4),
                        "" if reasons.count(4) else ": no reply since the last interim export",
                        fmt(sx)))
                elif kind == "handover":
                    i = 4 if what == "sent" else 6
                    pre = (int(f[i]), int(f[i + 1]))
                    rest = (ct[0] - pre[0], ct[1] - pre[1])
                    pieces = sorted((x["pkts"], x["bytes"]) for x in r5)
                    ok(pieces == sorted([pre, rest]) and s5 == ct,
                       "%s: v5 %d records %s: the handover's %s and the rest %s, "
                       "summing to conntrack's %s" %
                       (tag, len(r5), pieces, fmt(pre), fmt(rest), fmt(ct)))
                    byr = sorted((x["reason"], x["pkts"], x["bytes"]) for x in rx)
                    ok(byr == sorted([(2,) + pre, (end,) + rest]) and sx == ct,
                       "%s: IPFIX %d records (reason, pkts, bytes) %s: the handover's "
                       "interim (2) %s and the final (3) %s, summing to conntrack's %s" %
                       (tag, len(rx), byr, fmt(pre), fmt(rest), fmt(ct)))
                elif kind == "none":
                    ok(not r5 and not rx,
                       "%s: no record (v5 %d, IPFIX %d)" % (tag, len(r5), len(rx)))
                else:
                    sys.exit("spancheck: unknown check " + kind)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
