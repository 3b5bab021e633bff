#!/usr/bin/python3
"""The checks of the firewall pair's failover test
(tests/integration/pair_failover.sh): what one collector got from both
nodes against both nodes' `conntrack -E -o extended,id,timestamp` text
streams, connection by connection.

  failovercheck.py --nfdump-json J --node NAME=IP=CT_TEXT [--node ...]
      [--event NAME=EPOCH ...] [--crashed NODE] [--active-timeout S]
      [--label L]

A connection is known by its original tuple, the same on both nodes
(conntrackd copies it, NAT included); ICMP echoes, whose v5 records carry
no identifier, are one aggregate per source and destination. For each
connection and node the kernel's counts are the sum of that node's DESTROY
events of it; the node's exports are the records its exporter address
sent: the pre-NAT record of the original direction, the post-NAT one and
the reply.  Events: switchover, crash, failback, end (epoch seconds); the
roles follow from them (fw1 active until the switch-over, fw2 until the
crash, fw1 until the failback, fw2 after).

Failures (lines starting FAIL):
  - a record with 0 packets of a connection the node's kernel never
    counted (conntrackd's copy exported; a final export with 0 left after
    an interim one is the README's and only counted); a record whose tuple is not the pre- or
    post-NAT tuple of a connection the kernels saw; a record of a node
    received while the node was standby (beyond 1.5 s after it lost the
    role: its handover); an IPFIX record whose translated tuple is not the
    kernel's;
  - a connection of a kernel NEW on either node that no node exported
    (unless all its packets were counted by the crashed node, on entries
    alive at the crash);
  - a node's exports of a connection that differ from its kernel's
    counts, except on the crashed node for connections alive there at the
    crash, where they must not exceed them (the difference, what it
    counted since its last export, is reported and must not exceed
    active_timeout + 1.5 s of the connection's traffic on long ones);
  - the pre-NAT and post-NAT records of a node and connection that do not
    come in pairs with the same counters.
Then a table a connection class (and a line a long connection).
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

# A node that lost the role goes on exporting for handover_delay (the
# daemon's default, 3 s: the traffic reaches it until the peer has the
# address), then dumps its table: its exports may arrive until then, and
# 1.5 s more for the dump, the flush and the collector.
HANDOVER_DELAY = 3.0
HANDOVER_SLACK = HANDOVER_DELAY + 1.5
CRASH_MARGIN = 0.5    # s before the crash that an entry's end may be lost
CRASH_LINKS = 1.0     # s after the crash began (daemons frozen) that the
                      # node may still forward until its links are down
OWN = {"192.0.2.11", "192.0.2.12", "198.51.100.11", "198.51.100.12"}
LONG = {7001: "long-all", 7002: "long-switch", 7003: "long-crash",
        7004: "long-failback"}
CLASSES = ["tcp", "udp", "icmp", "dnat"] + [LONG[p] for p in sorted(LONG)]


def fails(msg):
    print("FAIL: " + msg)
    fails.n += 1


fails.n = 0


def parse_line(line):
    """One NEW or DESTROY line -> dict, or None."""
    if "[NEW]" in line:
        kind = "new"
    elif "[DESTROY]" in line:
        kind = "destroy"
    else:
        return None
    toks = line.split()
    ev = compare.parse_ct_text_line(line)
    if ev is None:
        return None
    t = None
    if toks and toks[0].startswith("["):
        try:
            t = float(toks[0].strip("[]"))
        except ValueError:
            t = None
    icmp_id = 0
    if ev["proto"] == 1:
        for tok in toks:
            if tok.startswith("id="):
                icmp_id = int(tok[3:])
                break
    ev.update(type=kind, t=t, userspace="[USERSPACE]" in line,
              icmp_id=icmp_id)
    return ev


def classify(ev):
    """The class of a connection by its original tuple, None if it is not
    the test's traffic (e.g. the daemons' own export flows)."""
    o, p = ev["orig"], ev["proto"]
    if o["src"] == "192.0.2.2" and o["dst"] == "198.51.100.2":
        if p == 6 and o["dport"] == 80:
            return "tcp"
        if p == 6 and o["dport"] in LONG:
            return LONG[o["dport"]]
        if p == 17 and o["dport"] == 53:
            return "udp"
        if p == 1:
            return "icmp"
    if (p == 6 and o["src"] == "198.51.100.2" and o["dst"] == "198.51.100.1"
            and o["dport"] == 8080):
        return "dnat"
    return None


def unit_key(ev):
    o = ev["orig"]
    if ev["proto"] == 1:  # no identifier in the records: one aggregate
        return (1, o["src"], 0, o["dst"], 0)
    return (ev["proto"], o["src"], o["sport"], o["dst"], o["dport"])


def record_tuples(ev):
    """(kind, (src, dst, sport, dport, proto)) of the three records."""
    o, r, p = ev["orig"], ev["reply"], ev["proto"]
    pre = (o["src"], o["dst"], o["sport"], o["dport"], p)
    post = (r["dst"], r["src"], r["dport"], r["sport"], p)
    rep = (r["src"], r["dst"], r["sport"], r["dport"], p)
    if p == 1:
        post = (r["dst"], r["src"], 0, o["dport"], p)
    return [("pre", pre), ("post", post), ("reply", rep)]


def load_oracle(path):
    """Entries of one node: list of dicts (key, cls, new, destroy events)."""
    live = {}
    entries = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            ev = parse_line(line)
            if ev is None:
                continue
            cls = classify(ev)
            if cls is None:
                continue
            if ev["type"] == "new":
                e = {"key": unit_key(ev), "cls": cls, "new": ev,
                     "destroy": None, "id": ev["id"]}
                live[ev["id"]] = e
                entries.append(e)
            else:
                e = live.pop(ev["id"], None)
                if e is None:
                    e = {"key": unit_key(ev), "cls": cls, "new": None,
                         "destroy": None, "id": ev["id"]}
                    entries.append(e)
                e["destroy"] = ev
    return entries


def load_records(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    data = json.loads(text) if text else []
    out = []
    for d in data:
        if d.get("type") != "FLOW":
            continue
        proto = d["proto"]
        if proto == 1:
            sport, dport = 0, d.get("icmp_type", 0) * 256 + d.get("icmp_code", 0)
        else:
            sport, dport = d.get("src_port", 0), d.get("dst_port", 0)
        rec = {"tuple": (d.get("src4_addr"), d.get("dst4_addr"), sport, dport,
                         proto),
               "packets": d["in_packets"], "bytes": d["in_bytes"],
               "router": d.get("ip4_router"),
               "received": None, "first": d.get("first"),
               "last": d.get("last"), "xlt": None}
        if d.get("src4_xlt_ip"):  # IPFIX: the other view in the record
            rec["xlt"] = (d["src4_xlt_ip"], d.get("dst4_xlt_ip"),
                          int(d.get("src_xlt_port") or 0),
                          int(d.get("dst_xlt_port") or 0), proto)
            if proto == 1:
                rec["xlt"] = rec["xlt"][:2] + (0, dport, 1)
        if d.get("received"):
            try:
                rec["received"] = compare.utc_ms(d["received"]) / 1000.0
            except ValueError:
                pass
        out.append(rec)
    return out


def zero4():
    return [0, 0, 0, 0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--nfdump-json", required=True)
    ap.add_argument("--node", action="append", required=True)
    ap.add_argument("--event", action="append", default=[])
    ap.add_argument("--crashed")
    ap.add_argument("--active-timeout", type=float, default=0)
    ap.add_argument("--label", default="collector")
    args = ap.parse_args()
    lab = args.label
    nodes = [tuple(s.split("=", 2)) for s in args.node]
    names = [n for n, _, _ in nodes]
    ip_of = {n: ip for n, ip, _ in nodes}
    node_of_ip = {ip: n for n, ip, _ in nodes}
    ev_t = {k: float(v) for k, v in (e.split("=", 1) for e in args.event)}
    t_crash = ev_t.get("crash")

    # who was active when (the scenario of pair_failover.sh)
    bounds = [ev_t.get(k) for k in ("switchover", "crash", "failback")]

    def active_at(node, t):
        """True when the node was active at t, or lost the role at most
        HANDOVER_SLACK before (its handover delay and dump)."""
        sw, cr, fb = bounds
        if node == "fw1":
            spans = [(0, sw), (cr, fb)]
        else:
            spans = [(sw, cr), (fb, 1e12)]
        return any(a is not None and b is not None and a <= t <= b + HANDOVER_SLACK
                   for a, b in spans)

    # ------------------------------------------------------------ kernels
    units = collections.OrderedDict()  # key -> unit

    def unit(key, cls):
        if key not in units:
            units[key] = {"key": key, "cls": cls, "first": None, "last": None,
                          "kernel_new": set(), "alive_at_crash": set(),
                          "reply": set(), "n_conns": set(), "ents": {},
                          "k": {n: zero4() for n in names},
                          "x": {n: {"pre": [0, 0, 0], "post": [0, 0, 0],
                                    "reply": [0, 0, 0]} for n in names},
                          "k_rate": {n: [0, 0.0] for n in names}}
        return units[key]

    tuple_map = {}
    open_entries = []
    for name, _, path in nodes:
        for e in load_oracle(path):
            ev = e["destroy"] or e["new"]
            u = unit(e["key"], e["cls"])
            if e["new"] is not None and not e["new"]["userspace"]:
                u["kernel_new"].add(name)
                u["n_conns"].add((e["new"]["orig"]["sport"],
                                  e["new"]["icmp_id"]))
            for kind, tup in record_tuples(ev):
                tuple_map.setdefault(tup, set()).add((e["key"], kind))
            u["tuples"] = record_tuples(ev)
            t_new = e["new"]["t"] if e["new"] else None
            t_des = e["destroy"]["t"] if e["destroy"] else None
            u["ents"].setdefault(name, []).append(
                (t_new, bool(e["new"] and e["new"]["userspace"]), t_des))
            for t in (t_new, t_des):
                if t is None:
                    continue
                u["first"] = t if u["first"] is None else min(u["first"], t)
                u["last"] = t if u["last"] is None else max(u["last"], t)
            if e["destroy"] is None:
                open_entries.append((name, e))
                continue
            d = e["destroy"]
            o, r = d["orig"], d["reply"]
            if e["cls"] != "icmp":
                u["reply"].add((r["src"], r["sport"], r["dst"], r["dport"]))
            k = u["k"][name]
            k[0] += o["packets"]
            k[1] += o["bytes"]
            k[2] += r["packets"]
            k[3] += r["bytes"]
            counted = o["packets"] + r["packets"] > 0
            if (name == args.crashed and t_crash is not None and counted
                    and (t_new is None or t_new < t_crash + CRASH_LINKS)
                    and t_des > t_crash - CRASH_MARGIN):
                u["alive_at_crash"].add(name)
                if t_new is not None:
                    since = max(t_new, bounds[0] or t_new)
                    u["k_rate"][name][0] += o["bytes"] + r["bytes"]
                    u["k_rate"][name][1] += max(t_crash - since, 0.001)
    for name, e in open_entries:
        o = e["new"]["orig"]
        fails("%s: %s's table kept an entry (no DESTROY): %s %s:%d -> %s:%d"
              % (lab, name, e["cls"], o["src"], o["sport"], o["dst"],
                 o["dport"]))

    # ------------------------------------------------------------ records
    recs = load_records(args.nfdump_json)
    n_recs = collections.Counter()
    zero = []
    for rec in recs:
        node = node_of_ip.get(rec["router"])
        desc = "%s %s -> %s (%d packets, %d bytes) from %s" % (
            rec["tuple"][4], "%s:%d" % (rec["tuple"][0], rec["tuple"][2]),
            "%s:%d" % (rec["tuple"][1], rec["tuple"][3]), rec["packets"],
            rec["bytes"], rec["router"])
        if node is None:
            fails("%s: a record from an unknown exporter: %s" % (lab, desc))
            continue
        n_recs[node] += 1
        if rec["received"] is not None and bounds[0] is not None \
                and not active_at(node, rec["received"]):
            fails("%s: %s's record received at %.2f s while it was standby: %s"
                  % (lab, node, rec["received"] - ev_t.get("start", bounds[0] - 5),
                     desc))
        owners = tuple_map.get(rec["tuple"])
        if not owners and OWN.intersection(rec["tuple"][:2]):
            n_recs["own"] += 1  # a firewall's own address (set-up pings)
            continue
        if not owners:
            fails("%s: a record whose tuple is no connection's pre- or "
                  "post-NAT tuple in the kernels: %s" % (lab, desc))
            continue
        if len(owners) > 1 and len({k for k, _ in owners}) > 1:
            fails("%s: a record's tuple fits several connections: %s" % (lab, desc))
            continue
        key, kind = sorted(owners)[0]
        kinds = [kind]
        if rec["xlt"] is not None:
            tups = dict(units[key]["tuples"])
            if kind == "pre":
                want = tups["post"]
                kinds.append("post")
            else:  # a reply, or a post-NAT tuple: its original view
                p_ = tups["pre"]
                want = (p_[1], p_[0], p_[3], p_[2], p_[4])
                if key[0] == 1:
                    want = (p_[1], p_[0], 0, rec["xlt"][3], 1)
            if rec["xlt"] != want:
                fails("%s: the translated tuple %s of %s is not the kernel's %s"
                      % (lab, rec["xlt"], desc, want))
        if rec["packets"] == 0:
            zero.append((key, node, desc))
        if rec["first"]:
            try:
                f0 = compare.utc_ms(rec["first"]) / 1000.0
                firsts = units[key].setdefault("rec_first", {})
                firsts[node] = min(firsts.get(node, f0), f0)
            except ValueError:
                pass
        for kind in kinds:
            x = units[key]["x"][node][kind]
            x[0] += 1
            x[1] += rec["packets"]
            x[2] += rec["bytes"]

    # a node that exports a connection it did not create (conntrackd's copy
    # it took over at a failover) starts it at its copy's start, which must
    # be within 1 s of the connection's real start
    copies_checked = 0
    for key, u in units.items():
        for node, f0 in u.get("rec_first", {}).items():
            if node in u["kernel_new"] or u["first"] is None:
                continue
            copies_checked += 1
            if abs(f0 - u["first"]) > 1.0:
                fails("%s: %s exported a %s connection (a copy it took over) "
                      "with a start %.3f s from its real start"
                      % (lab, node, u["cls"], f0 - u["first"]))
    print("%s: %d connections exported from a copy taken over at a "
          "failover, each from within 1 s of its real start" % (lab, copies_checked))

    # a record with 0 packets: wrong where the node counted nothing of the
    # connection (conntrackd's copy, exported as if it were the node's);
    # else the final export of what was left after an interim one (README)
    zero_final = 0
    for key, node, desc in zero:
        k = units[key]["k"][node]
        if k[0] + k[2] == 0:
            fails("%s: a record with 0 packets of a connection %s's kernel "
                  "never counted (a copy exported): %s" % (lab, node, desc))
        else:
            zero_final += 1

    # ------------------------------------------------------------ checks
    table = collections.OrderedDict((c, collections.Counter()) for c in CLASSES)
    longs = []
    losses = []
    for key, u in units.items():
        cls = u["cls"]
        row = table[cls]
        sw, cr, fb = bounds
        row["conns"] += len(u["n_conns"]) if cls == "icmp" else 1
        total_k = [0, 0, 0, 0]
        total_x = [0, 0, 0, 0]
        for n in names:
            k = u["k"][n]
            xs = u["x"][n]
            x = [xs["pre"][1], xs["pre"][2], xs["reply"][1], xs["reply"][2]]
            if k[0] + k[2] > 0:
                row["counted_" + n] += 1
            for i in range(4):
                total_k[i] += k[i]
                total_x[i] += x[i]
            what = "%s: %s %s, %s" % (lab, cls, fmt_key(key), n)
            if xs["pre"] != xs["post"]:
                fails("%s: the pre-NAT records (%d, %d packets, %d bytes) and "
                      "the post-NAT ones (%d, %d packets, %d bytes) differ"
                      % (what, xs["pre"][0], xs["pre"][1], xs["pre"][2],
                         xs["post"][0], xs["post"][1], xs["post"][2]))
            if n in u["alive_at_crash"]:
                if any(x[i] > k[i] for i in range(4)):
                    fails("%s (alive at the crash) exported more than its "
                          "kernel counted: exports %s, kernel %s" % (what, x, k))
                lost = [k[i] - x[i] for i in range(4)]
                rate, secs = u["k_rate"][n]
                lost_s = (lost[1] + lost[3]) / (rate / secs) if rate else 0.0
                losses.append((cls, key, n, k, x, lost, lost_s))
                row["crash_touched"] += 1
                row["lost_bytes"] += lost[1] + lost[3]
                row["lost_packets"] += lost[0] + lost[2]
                if x[0] + x[2] == 0:
                    row["crash_lost_whole"] += 1
                if cls.startswith("long") and args.active_timeout and \
                        lost_s > args.active_timeout + 1.5:
                    fails("%s: lost %.2f s of its traffic in the crash, more "
                          "than active_timeout %g s + 1.5 s" %
                          (what, lost_s, args.active_timeout))
            elif x != k:
                cause = why_inexact(n, u["ents"].get(n, []), x, ev_t)
                fails("%s: exported %d/%d packets, %d/%d bytes (orig/reply), "
                      "its kernel counted %d/%d packets, %d/%d bytes: %s"
                      % (what, x[0], x[2], x[1], x[3], k[0], k[2], k[1], k[3],
                         cause))
                row["inexact"] += 1
                row["inexact_bytes"] += k[1] + k[3] - x[1] - x[3]
        row["kernel_bytes"] += total_k[1] + total_k[3]
        row["exported_bytes"] += total_x[1] + total_x[3]
        if any(total_x[i] > total_k[i] for i in range(4)):
            fails("%s: %s %s: exported more than both kernels counted: "
                  "exports %s, kernels %s" % (lab, cls, fmt_key(key),
                                              total_x, total_k))
        counted_on = [n for n in names if u["k"][n][0] + u["k"][n][2] > 0]
        if len(counted_on) > 1:
            row["on_both"] += 1
        if u["first"] is not None:
            for ename, t in (("switchover", sw), ("crash", cr),
                             ("failback", fb)):
                if t is not None and u["first"] < t < u["last"]:
                    row["span_" + ename] += 1
                    if ename == "switchover" and total_x == total_k:
                        row["span_switchover_exact"] += 1
        if not u["kernel_new"]:
            row["no_kernel_new"] += 1
            continue
        if total_x[0] + total_x[2] > 0:
            row["exported"] += 1
        elif all(n in u["alive_at_crash"] for n in counted_on) and counted_on:
            pass  # counted only on the crashed node: lost, reported above
        elif not counted_on:
            row["never_counted"] += 1
        else:
            fails("%s: %s %s (kernel NEW on %s) was exported by no node; "
                  "kernels counted %s" % (lab, cls, fmt_key(key),
                                          ",".join(sorted(u["kernel_new"])),
                                          {n: u["k"][n] for n in names}))
        if cls.startswith("long"):
            longs.append(u)
        if cls != "icmp" and len(u["reply"]) > 1:
            fails("%s: %s %s: the kernels' reply tuples differ: %s"
                  % (lab, cls, fmt_key(key), sorted(u["reply"])))

    # ------------------------------------------------------------ report
    t0 = ev_t.get("start")
    print("%s: %d records (%s; %d of connections of a firewall's own "
          "address, not checked)" % (lab, len(recs), ", ".join(
              "%s %d" % (n, n_recs[n]) for n in names), n_recs["own"]))
    cols = ["conns", "counted_fw1", "counted_fw2", "on_both", "span_switchover",
            "span_switchover_exact",
            "span_crash", "span_failback", "exported", "inexact",
            "crash_touched", "crash_lost_whole", "kernel_bytes",
            "exported_bytes", "lost_bytes", "inexact_bytes"]
    heads = ["conns", "on fw1", "on fw2", "both", "span sw", "sw exact",
             "span crash",
             "span fb", "exported", "inexact", "crash", "lost whole",
             "kernel bytes", "exported bytes", "crash lost", "other lost"]
    print("%s: %-13s %s" % (lab, "class", " ".join("%*s" % (len(h), h)
                                                   for h in heads)))
    for cls, row in table.items():
        print("%s: %-13s %s" % (lab, cls, " ".join(
            "%*d" % (len(h), row[c]) for h, c in zip(heads, cols))))
    print("%s: %d records with 0 packets, each the final export after an "
          "interim one that took all (a node's own counted connection)"
          % (lab, zero_final))
    for u in longs:
        parts = []
        for n in names:
            k = u["k"][n]
            xs = u["x"][n]
            parts.append("%s kernel %d+%d bytes, exported %d+%d in %d records"
                         % (n, k[1], k[3], xs["pre"][2], xs["reply"][2],
                            xs["pre"][0]))
        life = ""
        if t0 is not None and u["first"] is not None:
            life = " (%.1f-%.1f s)" % (u["first"] - t0, u["last"] - t0)
        print("%s: %s %s%s: %s" % (lab, u["cls"], fmt_key(u["key"]), life,
                                    "; ".join(parts)))
    short = collections.Counter()
    for cls, key, n, k, x, lost, lost_s in losses:
        if not cls.startswith("long"):
            short["conns"] += 1
            short["whole"] += x[0] + x[2] == 0
            short["packets"] += lost[0] + lost[2]
            short["bytes"] += lost[1] + lost[3]
            continue
        print("%s: crash loss: %s %s on %s: kernel %d/%d packets %d/%d bytes, "
              "exported %d/%d packets %d/%d bytes, lost %d packets %d bytes "
              "(%.2f s of its traffic on %s)"
              % (lab, cls, fmt_key(key), n, k[0], k[2], k[1], k[3], x[0], x[2],
                 x[1], x[3], lost[0] + lost[2], lost[1] + lost[3], lost_s, n))
    if short["conns"]:
        print("%s: crash loss: %d short connections alive on %s at the crash "
              "(or ended within %.1f s before it), %d of them never exported: "
              "%d packets, %d bytes lost" % (lab, short["conns"], args.crashed,
                                             CRASH_MARGIN, short["whole"],
                                             short["packets"], short["bytes"]))
    if fails.n == 0:
        print("ok: %s: every connection exported by the node that counted it, "
              "exactly (but for the crash's bounded loss), NAT tuples right, "
              "no 0-packet record" % lab)
    return 1 if fails.n else 0


def role_losses(node, ev_t):
    """The moments a node lost the role in the scenario (not by a crash)."""
    return [ev_t[k] for k in (("switchover", "failback") if node == "fw1"
                              else ()) if k in ev_t]


def why_inexact(node, ents, x, ev_t):
    """The likely cause of a node's exports that differ from its kernel's
    counts, from the entry's times against the node's role losses."""
    t0 = ev_t.get("start", 0)
    for loss in role_losses(node, ev_t):
        for t_new, user, t_des in ents:
            if t_des is None:
                continue
            if (x[0] + x[2] == 0 and t_new is not None and t_new < loss
                    and loss - 0.3 <= t_des <= loss + 1.0):
                return ("it ended at the handover (%.3f s, the handover at "
                        "%.3f s): its DESTROY (%.3f s after the handover) "
                        "came while standby, and the handover dump did not "
                        "list it (the kernel skips expired entries in dumps "
                        "and evicts them)" % (t_des - t0, loss - t0,
                                              t_des - loss))
            if (t_new is not None and not user and loss < t_new
                    and t_new < loss + 3.0):
                return ("the node forwarded it while standby (it began at "
                        "%.3f s, the node lost the role at %.3f s): "
                        "suppressed" % (t_new - t0, loss - t0))
    return ("the node counted packets of it after its handover dump "
            "(peers still sending to it), suppressed at its end")


def fmt_key(key):
    p, src, sport, dst, dport = key
    if p == 1:
        return "icmp %s -> %s" % (src, dst)
    return "%s %s:%d -> %s:%d" % ({6: "tcp", 17: "udp"}.get(p, p), src,
                                  sport, dst, dport)


if __name__ == "__main__":
    sys.exit(main())
