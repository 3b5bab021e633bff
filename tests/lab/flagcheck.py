#!/usr/bin/python3
"""TCP flags of nfflowd's records against the packets on the wire
(tests/integration/tcp_flags.sh).

conntrack keeps no header flags: the daemon derives each record's flags from
the connection's TCP state.  This checker joins, for every TCP connection
conntrack destroyed (its NEW and DESTROY events: tuples and counters), the
states conntrack reported (every event, UPDATE included), the TCP packets
captured on the firewall's interfaces (post-NAT ones mapped back through the
reply tuple) and the records of three outputs: the daemon's CSV lines, what
a v5 nfcapd and an IPFIX nfcapd stored (nfdump's %flg).  It checks, per
connection:

  nonempty   every record's flags are not 0 (a record means its direction
             carried packets);
  synack     a record's SYN and ACK bits are among the flags of its
             direction's packets;
  within     the OR over all the connection's records is within the OR over
             all its packets;
  agree      records 1 and 2 (original direction) carry the same flags, and
             the CSV line, nfdump's v5 and IPFIX records agree per direction;
  rules      each direction's flags are those the derivation rules give for
             the states conntrack reported:
               original: SYN if the connection began with SYN_SENT (first
               export); ACK if ASSURED or the final state is ESTABLISHED,
               FIN_WAIT, CLOSE_WAIT, LAST_ACK or TIME_WAIT; FIN for the
               last four; RST for final CLOSE unless refused.
               reply: SYN if it began with SYN_SENT and reached SYN_RECV or
               later; ACK if it began with SYN_SENT or is ASSURED, or its
               final state is one of the five above (every segment past
               the handshake carries ACK: a picked up entry that closed
               before conntrack marked it ASSURED); FIN for
               LAST_ACK and TIME_WAIT; RST if refused (began with SYN_SENT,
               final CLOSE, never ASSURED);
  records    the records are there: 1 and 2 (v5) or one (IPFIX) for the
             original direction, 3 or one more only when the reply carried
             packets; no TCP record is left unexplained;
and that each scenario happened on the wire as it should (the FINs, the
RST, the lone SYN, no SYN after the pickup).  It prints a report of every
connection first, then the checks; exit 1 when one fails.

  flagcheck.py --ct-text F --ct-events F --packets F --csv F --v5 F
               --ipfix F --scenario NAME:DPORT:COUNT...

--ct-text: `conntrack -E -e NEW,DESTROY -o extended,id,timestamp`;
--ct-events: `conntrack -E -o extended,id,timestamp` (all events);
--packets: tshark fields time|interface|ip.src|tcp.srcport|ip.dst|
tcp.dstport|tcp.flags; --v5, --ipfix: `nfdump -q -N -o
'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%flg'`; --scenario: connections to
wan port DPORT are scenario NAME, COUNT conntrack entries of them.

nfdump 1.7.1 prints the flags as eight characters CEUAPRSF, a dot for a
clear bit ("...A..SF"), in %flg, in -o csv's "flg" column and in -o json's
"tcp_flags"; -o raw adds the hex value ("0x13 ...A..SF").
"""

import argparse
import collections
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  pylint: disable=wrong-import-position
import nfxcheck  # noqa: E402  pylint: disable=wrong-import-position

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
LETTERS = "CEUAPRSF"  # nfdump's %flg, bit 7 first
STATES = ("NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
          "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2")
ACK_STATES = ("ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
              "TIME_WAIT")
FIN_STATES = ("FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT")
REPLY_FIN_STATES = ("LAST_ACK", "TIME_WAIT")
REACHED_STATES = ("SYN_RECV",) + ACK_STATES
TS = re.compile(r"^\[(\d+\.\d+)\]")
DIRS = ("orig", "reply")


def fstr(f):
    """Flags as nfdump prints them (CEUAPRSF, '.' for a clear bit) and
    in hex."""
    if f is None:
        return "-"
    return "%s(0x%02x)" % ("".join(
        c if f & (0x80 >> i) else "." for i, c in enumerate(LETTERS)), f)


def parse_flg(text):
    """nfdump's %flg (letters and dots, or a hex number) -> int."""
    text = text.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    f = 0
    pad = text.rjust(8, ".")
    if len(pad) != 8:
        raise ValueError("unexpected flags %r" % text)
    for i, c in enumerate(pad):
        if c == ".":
            continue
        if c != LETTERS[i]:
            raise ValueError("unexpected flags %r" % text)
        f |= 0x80 >> i
    return f


# ------------------------------------------------------------------ oracle

def read_events(path):
    """conntrack -E lines of TCP entries, in order: dicts of
    nfxcheck.parse_ct_line plus time, state and assured."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            ev = nfxcheck.parse_ct_line(line)
            if ev is None or ev["proto"] != 6:
                continue
            toks = line.split()
            m = TS.match(line.strip())
            ev["time"] = float(m.group(1)) if m else None
            ev["state"] = next((t for t in toks if t in STATES), None)
            ev["assured"] = "[ASSURED]" in toks
            out.append(ev)
    return out


def lives(events):
    """Group events into conntrack entries, from NEW to DESTROY (an id may
    come back for a later entry)."""
    open_, done = {}, []
    for ev in events:
        cur = open_.get(ev["id"])
        if ev["event"] == "NEW" or cur is None:
            cur = {"id": ev["id"], "events": []}
            open_[ev["id"]] = cur
        cur["events"].append(ev)
        if ev["event"] == "DESTROY":
            done.append(open_.pop(ev["id"]))
    return done, list(open_.values())


def build_conns(ct_text, ct_events):
    """Destroyed TCP entries with tuples, counters, times and states."""
    done, unended = lives(read_events(ct_text))
    all_lives, _ = lives(read_events(ct_events)) if ct_events else ([], [])
    by_id = collections.defaultdict(list)
    for lf in all_lives:
        by_id[lf["id"]].append(lf)
    conns = []
    for lf in done:
        new = next((e for e in lf["events"] if e["event"] == "NEW"), None)
        dest = lf["events"][-1]
        c = {"id": lf["id"], "proto": 6, "orig": dest["orig"],
             "reply": dest["reply"],
             "new_time": new["time"] if new else None,
             "destroy_time": dest["time"],
             "began": new["state"] if new else None}
        # The all-events life of the same id and tuple destroyed at about
        # the same time.
        states, assured = [], dest["assured"]
        for cand in by_id.get(lf["id"], []):
            d = cand["events"][-1]
            if (d["orig"]["sport"] == dest["orig"]["sport"] and
                    d["orig"]["dst"] == dest["orig"]["dst"] and
                    (d["time"] is None or dest["time"] is None or
                     abs(d["time"] - dest["time"]) < 1.0)):
                for e in cand["events"]:
                    if e["state"] and (not states or states[-1] != e["state"]):
                        states.append(e["state"])
                    assured = assured or e["assured"]
                break
        if not states and new and new["state"]:
            states = [new["state"]]
        c["states"], c["assured"] = states, assured
        c["final"] = states[-1] if states else None
        conns.append(c)
    return conns, unended


def rule_flags(c):
    """The flags the derivation rules give each direction (reply None when
    it carried no packet)."""
    began_syn = c["began"] == "SYN_SENT"
    final, assured = c["final"], c["assured"]
    reached = assured or any(s in REACHED_STATES for s in c["states"])
    refused = began_syn and final == "CLOSE" and not assured
    o = 0
    if began_syn:
        o |= SYN
    if assured or final in ACK_STATES:
        o |= ACK
    if final in FIN_STATES:
        o |= FIN
    if final == "CLOSE" and not refused:
        o |= RST
    if c["reply"]["packets"] == 0:
        return o, None
    r = ACK if (began_syn or assured) else 0
    if final in ACK_STATES:
        # Not in the rules as first written, but true of every segment of
        # a connection past its handshake (conntrack picks up only ACK
        # segments): the reply of a picked up entry that closed before it
        # was ASSURED.  The synack check holds it to the wire.
        r |= ACK
    if began_syn and reached:
        r |= SYN
    if final in REPLY_FIN_STATES:
        r |= FIN
    if refused:
        r |= RST
    return o, r


# ------------------------------------------------------------------ packets

def read_packets(path):
    """(time, interface, src, sport, dst, dport, flags) of each packet."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            p = line.rstrip("\n").split("|")
            if len(p) < 7 or not p[6]:
                continue
            try:
                out.append((float(p[0]), p[1], p[2], int(p[3]), p[4],
                            int(p[5]), int(p[6], 0)))
            except ValueError:
                continue
    return out


def packet_forms(c):
    """The 4-tuples a connection's packets show on either interface, with
    their direction."""
    o, r = c["orig"], c["reply"]
    return {
        (o["src"], o["sport"], o["dst"], o["dport"]): "orig",
        (r["dst"], r["dport"], r["src"], r["sport"]): "orig",
        (r["src"], r["sport"], r["dst"], r["dport"]): "reply",
        (o["dst"], o["dport"], o["src"], o["sport"]): "reply",
    }


def assign_packets(conns, packets):
    """Fill each connection's wire flags per direction; return the packets
    no connection explains."""
    index = collections.defaultdict(list)
    for c in conns:
        c["wire"] = {"orig": 0, "reply": 0}
        c["wire_pkts"] = collections.Counter()
        for form, d in packet_forms(c).items():
            index[form].append((c, d))
    lost = []
    for t, ifname, src, sport, dst, dport, flags in packets:
        cands = index.get((src, sport, dst, dport), [])
        # Of entries with this tuple, the latest to begin by then (a
        # packet is captured before conntrack reports the entry's NEW).
        best = None
        for c, d in cands:
            start = c["new_time"]
            if start is not None and start > t + 0.1:
                continue
            if best is None or (start or 0) > (best[0]["new_time"] or 0):
                best = (c, d)
        if best is None:
            lost.append((t, ifname, src, sport, dst, dport, flags))
            continue
        c, d = best
        c["wire"][d] |= flags & 0xff
        c["wire_pkts"][(d, ifname)] += 1
    return lost


# ------------------------------------------------------------------ records

def read_fmt(path):
    """Records of nfdump's fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%flg as
    (compare.py key, flags)."""
    out, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            p = [x.strip() for x in line.split("|")]
            if len(p) != 8:
                if line.strip():
                    bad.append(line.strip())
                continue
            try:
                key = (p[1], p[3], int(p[2]), int(p[4]), int(p[0]),
                       int(p[5]), int(p[6]))
                out.append((key, parse_flg(p[7])))
            except ValueError:
                bad.append(line.strip())
    return out, bad


def read_csv(path):
    """The daemon's CSV lines as (compare.py key, tcp_flags)."""
    recs, _ = compare.parse_csv(path)
    return [(compare.csv_key(r), r["tcp_flags"]) for r in recs]


def pool_of(recs, interim):
    """TCP records grouped by key (without the counters when interim
    exports split them), in file order."""
    pool = collections.defaultdict(list)
    for key, flags in recs:
        if key[4] == 6:
            pool[key[:5] if interim else key].append((flags, key[5]))
    return pool


def assign_records(conns, outputs, interim=False):
    """Fill c["recs"][output][n] (n = 1, 2, 3; IPFIX 1 and 3) with the
    flags of the connection's records n in export order: the one record
    with the connection's counters, or with interim every record of its
    tuple.  Return the records no connection took."""
    pools = {name: pool_of(recs, interim) for name, recs in outputs.items()}
    for c in sorted(conns, key=lambda c: c["new_time"] or 0):
        c["recs"], c["pkts"] = {}, {}
        for name, pool in pools.items():
            got, pkts = {}, {}
            for n, key in compare.expected_records(c):
                if name == "ipfix" and n == 2:
                    continue
                lst = pool.get(key[:5] if interim else key, [])
                mine = list(lst) if interim else lst[:1]
                del lst[:len(mine)]
                got[n] = [f for f, _ in mine]
                pkts[n] = [k for _, k in mine]
            c["recs"][name] = got
            c["pkts"][name] = pkts
    left = []
    for name, pool in pools.items():
        for key, lst in pool.items():
            for flags, _ in lst:
                left.append((name, key, flags))
    return left


# ------------------------------------------------------------------ checks

class Checks:
    """ok/FAIL lines and their count."""

    def __init__(self):
        self.fails = 0
        self.lines = []

    def check(self, cond, text):
        self.lines.append(("ok: " if cond else "FAIL: ") + text)
        if not cond:
            self.fails += 1


def bits(f):
    """Names of the set bits among FIN, SYN, RST, ACK (and others)."""
    names = [(ACK, "ACK"), (PSH, "PSH"), (RST, "RST"), (SYN, "SYN"),
             (FIN, "FIN")]
    out = [n for b, n in names if f & b]
    rest = f & ~(ACK | PSH | RST | SYN | FIN)
    if rest:
        out.append("0x%02x" % rest)
    return "+".join(out) if out else "none"


def direction_of(n):
    """Records 1 and 2 are the original direction, 3 the reply."""
    return "orig" if n in (1, 2) else "reply"


def fseq(lst):
    """A list of flags (one per export) as text."""
    return " ".join(fstr(f) for f in lst) if lst else "none"


def check_conn(ck, c, label, interim=False):
    """Every check of one connection; with interim, the connection's
    records of each kind are its exports in order."""
    has_reply = c["reply"]["packets"] > 0
    union = c["wire"]["orig"] | c["wire"]["reply"]
    every = 0
    for out, recs in c["recs"].items():
        for n, lst in sorted(recs.items()):
            what = "%s: %s record %d (%s)" % (label, out, n, direction_of(n))
            if interim:
                ck.check(len(lst) >= 2, "%s: exported %d times (interim "
                         "exports, then the end)" % (what, len(lst)))
            else:
                ck.check(len(lst) == 1, "%s is there (%d)" % (what, len(lst)))
            d = direction_of(n)
            for i, f in enumerate(lst):
                one = what if len(lst) == 1 else "%s export %d" % (what, i + 1)
                every |= f
                if c["pkts"][out][n][i] > 0:
                    ck.check(f != 0, "%s has flags (got %s)" % (one, fstr(f)))
                extra = f & (SYN | ACK) & ~c["wire"][d]
                ck.check(extra == 0,
                         "%s: SYN/ACK %s within the %s packets' %s%s" % (
                             one, bits(f & (SYN | ACK)), d,
                             bits(c["wire"][d]),
                             "" if not extra else " (extra: %s)" %
                             bits(extra)))
    extra = every & ~union
    ck.check(extra == 0, "%s: all records' flags %s within all packets' %s%s"
             % (label, bits(every), bits(union),
                "" if not extra else " (extra: %s)" % bits(extra)))
    # Agreement between the records of one direction, export by export.
    for d, nums in (("orig", (1, 2)), ("reply", (3,))):
        seen = {}
        for out, recs in c["recs"].items():
            for n in nums:
                if recs.get(n):
                    seen["%s %d" % (out, n)] = tuple(recs[n])
        ck.check(len(set(seen.values())) <= 1,
                 "%s: the %s records agree (%s)" % (
                     label, d, ", ".join("%s %s" % (k, fseq(v))
                                         for k, v in sorted(seen.items()))))
    # The rules, on the CSV lines (the other outputs agree with them).
    want_o, want_r = rule_flags(c)
    csv = c["recs"].get("csv", {})
    for d, want, lst in (("orig", want_o, csv.get(1, [])),
                         ("reply", want_r, csv.get(3, []))):
        if want is None and not lst:
            continue
        if interim:
            # The SYN in the first export only; the last export has the
            # rest of what the final state gives.
            syn = [bool(f & SYN) for f in lst]
            want_syn = [bool(want & SYN)] + [False] * (len(lst) - 1)
            ck.check(syn == want_syn, "%s: %s SYN only in the first export "
                     "(%s; rules: %s)" % (label, d, fseq(lst),
                                          "SYN first" if want & SYN else
                                          "no SYN"))
            want &= ~SYN
            # a direction that carried no packet since the previous
            # export shows no flags (README "TCP flags")
            pk = c["pkts"].get("csv", {}).get(1 if d == "orig" else 3, [])
            if pk and pk[-1] == 0:
                want = 0
            lst = lst[-1:]
            d += " last export"
        got = lst[0] if len(lst) == 1 else None
        diff = "" if got is None or want is None else (
            " (missing %s, extra %s)" % (bits(want & ~got), bits(got & ~want)))
        ck.check(got == want, "%s: %s flags %s are the rules' %s%s" % (
            label, d, fseq(lst), fstr(want), "" if got == want else diff))
    # Presence of the reply records follows the reply's packets.
    for out, recs in c["recs"].items():
        if not has_reply:
            ck.check(not recs.get(3),
                     "%s: no %s reply record (the reply carried no packet)"
                     % (label, out))


def check_wire(ck, name, conns):
    """The scenario happened as planned, as the capture and conntrack saw
    it."""
    def w(c, d):
        return c["wire"][d]
    if name == "fin":
        c = conns[0]
        ck.check(w(c, "orig") & FIN and w(c, "reply") & FIN and
                 not (w(c, "orig") | w(c, "reply")) & RST,
                 "fin: FIN from both sides and no RST on the wire")
    elif name == "rst":
        c = conns[0]
        ck.check(w(c, "orig") & RST and c["final"] == "CLOSE",
                 "rst: the client's RST on the wire, final state %s" %
                 c["final"])
    elif name == "syn":
        c = conns[0]
        ck.check(w(c, "orig") == SYN and w(c, "reply") == 0 and
                 c["reply"]["packets"] == 0,
                 "syn: only SYN on the wire, no reply (%s / %s)" % (
                     bits(w(c, "orig")), bits(w(c, "reply"))))
    elif name == "refused":
        c = conns[0]
        ck.check(w(c, "orig") == SYN and w(c, "reply") & RST,
                 "refused: SYN answered by RST on the wire (%s / %s)" % (
                     bits(w(c, "orig")), bits(w(c, "reply"))))
    elif name == "pickup":
        first, second = conns[0], conns[-1]
        ck.check(first["began"] == "SYN_SENT" and
                 second["began"] == "ESTABLISHED",
                 "pickup: the deleted entry began in SYN_SENT (%s), the "
                 "picked up one in ESTABLISHED (%s)" % (
                     first["began"], second["began"]))
        ck.check(not (w(second, "orig") | w(second, "reply")) & SYN and
                 w(second, "orig") & FIN,
                 "pickup: no SYN after the pickup, closed by FIN (%s / %s)"
                 % (bits(w(second, "orig")), bits(w(second, "reply"))))


def label_conns(conns, scenarios, ck):
    """(label, connection) pairs for the scenarios' connections."""
    out = []
    for name, port, count in scenarios:
        mine = sorted((c for c in conns if c["orig"]["dport"] == port),
                      key=lambda c: c["new_time"] or 0)
        ck.check(len(mine) == count,
                 "%s: %d conntrack entr%s to port %d (want %d)" % (
                     name, len(mine), "y" if len(mine) == 1 else "ies",
                     port, count))
        if len(mine) != count:
            continue
        for i, c in enumerate(mine):
            label = name
            if count > 1 and i < count - 1:
                label = "%s-deleted" % name if count == 2 else \
                    "%s-%d" % (name, i + 1)
            out.append((label, c))
        check_wire(ck, name, mine)
    return out


def report(label, c):
    """A few lines describing one connection."""
    o, r = c["orig"], c["reply"]
    want_o, want_r = rule_flags(c)
    lines = ["%s: ct id=%d %s:%d -> %s:%d, out as %s:%d; began %s, "
             "states %s%s" % (
                 label, c["id"], o["src"], o["sport"], o["dst"], o["dport"],
                 r["dst"], r["dport"], c["began"], ">".join(c["states"]),
                 ", ASSURED" if c["assured"] else "")]
    for d, side, want, nums in (("orig", o, want_o, (1, 2)),
                                ("reply", r, want_r, (3,))):
        recs = []
        for out in ("csv", "v5", "ipfix"):
            for n in nums:
                if out == "ipfix" and n == 2:
                    continue
                if n in c["recs"].get(out, {}):
                    recs.append("%s#%d %s" % (out, n, " ".join(
                        "%s/%dp" % (fstr(f), k) for f, k in
                        zip(c["recs"][out][n], c["pkts"][out][n])) or
                        "none"))
        lines.append("  %-5s %3d pkts (lan %d, wan %d captured)  wire %s  "
                     "rules %s" % (d, side["packets"],
                                   c["wire_pkts"][(d, "fw-lan")],
                                   c["wire_pkts"][(d, "fw-wan")],
                                   fstr(c["wire"][d]), fstr(want)))
        lines.append("        records (flags/packets): %s" % (
            "; ".join(recs) or "none"))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ct-text", required=True)
    ap.add_argument("--ct-events")
    ap.add_argument("--packets", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--v5", required=True)
    ap.add_argument("--ipfix", required=True)
    ap.add_argument("--scenario", action="append", default=[],
                    help="NAME:DPORT:COUNT")
    ap.add_argument("--interim", action="store_true",
                    help="the connections have interim exports (active "
                    "timeout): match records by tuple, not counters")
    args = ap.parse_args()
    scenarios = []
    for s in args.scenario:
        name, port, count = s.split(":")
        scenarios.append((name, int(port), int(count)))

    ck = Checks()
    conns, unended = build_conns(args.ct_text, args.ct_events)
    ck.check(not unended, "every TCP entry conntrack reported was destroyed"
             " (%d left)" % len(unended))
    lost = assign_packets(conns, read_packets(args.packets))
    outputs = {"csv": read_csv(args.csv)}
    for name, path in (("v5", args.v5), ("ipfix", args.ipfix)):
        recs, bad = read_fmt(path)
        ck.check(not bad, "nfdump's %s lines all parse%s" % (
            name, "" if not bad else ": %r" % bad[:3]))
        outputs[name] = recs
    left = assign_records(conns, outputs, args.interim)
    labelled = label_conns(conns, scenarios, ck)

    print("===== connections: records' flags, the wire's, the rules' =====")
    for label, c in labelled:
        print(report(label, c))
    others = [c for c in conns if all(c is not x for _, x in labelled)]
    # tshark's interface probes connect to 127.0.0.1 inside fw.
    local = [c for c in others if c["orig"]["src"].startswith("127.")]
    if local:
        print("(%d connection%s of fw's loopback, none exported, left out)" %
              (len(local), "" if len(local) == 1 else "s"))
    for c in others:
        if all(c is not x for x in local):
            print(report("other", c))
    if lost:
        print("packets no conntrack entry explains: %d, e.g." % len(lost))
        for p in lost[:5]:
            print("  %.6f %s %s:%d -> %s:%d %s" % (p[:6] + (fstr(p[6]),)))

    for label, c in labelled:
        check_conn(ck, c, label, args.interim)
    ck.check(not left, "every TCP record belongs to a connection%s" % (
        "" if not left else ": " + "; ".join(
            "%s %s %s" % (n, compare.fmt_key((k + (0, 0))[:7]), fstr(f))
            for n, k, f in left[:6])))
    print("===== checks =====")
    for line in ck.lines:
        print(line)
    if ck.fails:
        print("flagcheck: %d check(s) failed" % ck.fails)
        return 1
    print("flagcheck: all %d checks passed" % len(ck.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
