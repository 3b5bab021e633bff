#!/usr/bin/python3
"""The NAT-logging proof of the nfflowd lab (RFC 8158 NAT session events):
many connections from many private hosts through the masquerade, the
ground truth of who had which public port when, random questions
(public address, public port, protocol, time) and their answers taken only
from what a collector stored.

  natquery.py server BASE COUNT PORTS_TCP PORTS_UDP SECONDS
      in wan: TCP line echo on every port of PORTS_TCP (comma separated),
      UDP echo on every port of PORTS_UDP, on COUNT addresses from BASE
      (each its own socket, so that a UDP answer leaves from the address
      that was asked)
  natquery.py gen --log LOG ...
      in lan: the connections (see cmd_gen), one JSON line per opened
      long-lived connection and per closed connection in LOG
  natquery.py truth --gen LOG --ct-text F --ct-xml F --out TRUTH
      join the generator's log with conntrack's events (NEW and DESTROY,
      text and XML listeners of tests/lab/lab.sh): every NAT session with
      its private host, public tuple and kernel start/stop
  natquery.py pick --truth TRUTH --count N --now-ms MS --out QUESTIONS
      N random questions, each at a time inside a connection's life
  natquery.py answer --truth TRUTH --questions Q --events CODE=FILE...
      answer each question from the collector's NAT events alone (nfdump
      fmt lines, one file per natEvent value; creates and deletes paired
      exactly by translation and flowStart) and compare with the truth;
      exit 1 on any wrong answer
  natquery.py pmacct --truth TRUTH --questions Q --csv FILE
      the same from pmacct's print plugin (CSV) output

Without --kill every answer must be exact.  With --kill CKPT KILL RESTART
(a kill -9 of the daemon) an answer must still name every true host,
except the host of a connection no daemon saw (it began after the last
flush before the kill and ended before the restart); it may name an extra
host only for a question after that host's connection ended, and only
when that connection is one a kill -9 leaves inherently open: its create
was seen after the last checkpoint (less 0.1 s) and it ended before the
restart (no delete: an orphan create), or it ended from the last flush
before the kill (less 0.1 s) to the restart (its delete lost, or sent at
the restart).

Every process and wait here ends on its own within its bound.
"""

import argparse
import asyncio
import calendar
import collections
import ipaddress
import json
import os
import random
import re
import socket
import sys
import time

# The lab's own modules, from this file's folder (without __pycache__).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
import compare  # noqa: E402
# pylint: enable=wrong-import-position

INF = float("inf")


def now_ms():
    """Wall clock in integer milliseconds (the clock of every timestamp
    here: the kernel's conntrack stamps and the exporter's are realtime)."""
    return time.time_ns() // 1000000


# ------------------------------------------------------------------ traffic

async def serve(addrs, tcp_ports, udp_ports, seconds):
    """Line echo servers until SECONDS have passed."""
    async def echo(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                writer.write(line)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    class Udp(asyncio.DatagramProtocol):
        """Echo every datagram."""
        transport = None

        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(data, addr)

    loop = asyncio.get_running_loop()
    servers = []
    for a in addrs:
        for p in tcp_ports:
            servers.append(await asyncio.start_server(
                echo, a, p, backlog=4096, reuse_address=True))
        for p in udp_ports:
            await loop.create_datagram_endpoint(Udp, local_addr=(a, p))
    print("listening tcp %s udp %s" % (tcp_ports, udp_ports), flush=True)
    await asyncio.sleep(seconds)


def cmd_server(args):
    """natquery.py server: see the module's doc."""
    ports = lambda s: [int(p) for p in s.split(",") if p]  # noqa: E731
    base = ipaddress.ip_address(args.base)
    addrs = [str(base + i) for i in range(int(args.count))]
    asyncio.run(serve(addrs, ports(args.tcp), ports(args.udp),
                      float(args.seconds)))
    return 0


class Gen:
    """The generator's state: its log, counters and deadline."""

    def __init__(self, args):
        self.args = args
        self.log = open(args.log, "w", encoding="ascii", buffering=1)
        self.deadline = time.monotonic() + args.seconds
        self.fails = collections.Counter()
        self.done = 0

    def write(self, rec):
        """One JSON line."""
        self.log.write(json.dumps(rec, separators=(",", ":")) + "\n")

    def left(self):
        """Seconds until the generator's own deadline (at least 0.1)."""
        return max(0.1, self.deadline - time.monotonic())


async def tcp_conn(g, host, dst, dport, hold, long_lived=False):
    """One TCP connection from HOST: connect, one line each way, HOLD s
    idle (or, long-lived, until the trigger file exists), close."""
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((host, 0))
        await asyncio.wait_for(loop.sock_connect(s, (dst, dport)),
                               min(5.0, g.left()))
        t_conn = now_ms()
        sport = s.getsockname()[1]
        rec = {"proto": 6, "host": host, "sport": sport, "dst": dst,
               "dport": dport, "t_conn": t_conn}
        if long_lived:
            g.write(dict(rec, ev="open"))
        await loop.sock_sendall(s, b"hello\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = await asyncio.wait_for(loop.sock_recv(s, 64),
                                           min(5.0, g.left()))
            if not chunk:
                raise ConnectionError("closed by the server")
            got += chunk
        if long_lived:
            while (not os.path.exists(g.args.trigger)
                   and time.monotonic() < g.deadline - 1):
                await asyncio.sleep(0.2)
        else:
            await asyncio.sleep(hold)
        rec["t_close"] = now_ms()
        s.close()
        g.write(dict(rec, ev="close"))
        g.done += 1
    except (OSError, asyncio.TimeoutError) as e:
        g.fails["tcp " + type(e).__name__] += 1
        s.close()


async def udp_conn(g, host, dst, dport, hold):
    """One UDP exchange from HOST: a datagram, its echo, HOLD s, another
    datagram and its echo, close."""
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        s.bind((host, 0))
        s.connect((dst, dport))
        sport = s.getsockname()[1]
        t_conn = None
        for i in range(2):
            await loop.sock_sendall(s, b"query\n")
            await asyncio.wait_for(loop.sock_recv(s, 64), min(3.0, g.left()))
            if i == 0:
                t_conn = now_ms()
                await asyncio.sleep(hold)
        t_close = now_ms()
        s.close()
        g.write({"ev": "close", "proto": 17, "host": host, "sport": sport,
                 "dst": dst, "dport": dport, "t_conn": t_conn,
                 "t_close": t_close})
        g.done += 1
    except (OSError, asyncio.TimeoutError) as e:
        g.fails["udp " + type(e).__name__] += 1
        s.close()


async def generate(g):
    """The long-lived connections first, then the short ones at an even
    pace over --spread seconds, at most --parallel at once."""
    a = g.args
    rnd = random.Random(a.seed)
    base = ipaddress.ip_address(a.host_base)
    hosts = [str(base + i) for i in range(a.hosts)]
    sbase = ipaddress.ip_address(a.server_base)
    servers = [str(sbase + i) for i in range(a.servers)]
    sem = asyncio.Semaphore(a.parallel)
    tasks = []

    async def bounded(coro):
        async with sem:
            await coro

    for i in range(a.long):
        tasks.append(asyncio.create_task(tcp_conn(
            g, hosts[i % len(hosts)], rnd.choice(servers), a.long_port, 0,
            long_lived=True)))
    kinds = ["tcp"] * a.tcp + ["udp"] * a.udp
    rnd.shuffle(kinds)
    t0 = time.monotonic()
    step = a.spread / max(1, len(kinds))
    for i, kind in enumerate(kinds):
        if time.monotonic() > g.deadline - 10:
            g.fails["not started (deadline)"] += len(kinds) - i
            break
        delay = t0 + i * step - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        hold = rnd.uniform(a.hold_min, a.hold_max)
        host, dst = rnd.choice(hosts), rnd.choice(servers)
        if kind == "tcp":
            coro = tcp_conn(g, host, dst, a.tcp_port, hold)
        else:
            coro = udp_conn(g, host, dst, a.udp_port, hold)
        await sem.acquire()
        sem.release()
        tasks.append(asyncio.create_task(bounded(coro)))
        # Drop finished tasks now and then to keep the list short.
        if len(tasks) > 4 * a.parallel:
            tasks = [t for t in tasks if not t.done()]
    left = [t for t in tasks if not t.done()]
    if left:
        await asyncio.wait(left, timeout=g.left())


def cmd_gen(args):
    """natquery.py gen: the connections.  Prints one summary line."""
    g = Gen(args)
    t0 = now_ms()
    asyncio.run(generate(g))
    print("gen: %d connections closed in %.1f s, failures %s" % (
        g.done, (now_ms() - t0) / 1000.0, dict(g.fails) or "none"),
        flush=True)
    return 0 if not g.fails else 1


# ------------------------------------------------------------------ truth

TS_RE = re.compile(r"^\[(\d+)\.(\d+)\]")


def ct_events(path):
    """NEW and DESTROY lines of the text listener -> dicts with the event,
    its userspace time (ms), id, protocol and both tuples."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            kind = ("NEW" if "[NEW]" in line else
                    "DESTROY" if "[DESTROY]" in line else None)
            if kind is None:
                continue
            ev = compare.parse_ct_text_line(line)
            m = TS_RE.match(line.strip())
            if ev is None or m is None:
                continue
            ev["ev"] = kind
            ev["t_ms"] = int(m.group(1)) * 1000 + int(m.group(2)[:3].ljust(3, "0"))
            out.append(ev)
    return out


def ct_xml_stamps(path):
    """Kernel start/stop stamps (ms) by conntrack id, from any event of
    the XML listener that carries them (DESTROY always does)."""
    out = {}
    for ctid, ts in compare.parse_ct_xml(path, any_event=True).items():
        out[ctid] = {k: ts[k + "_ns"] // 1000000 for k in ("start", "stop")
                     if ts[k + "_ns"] is not None}
    return out


def cmd_truth(args):
    """natquery.py truth: every NAT session conntrack saw, joined with the
    generator's log (which host opened it and when it talked)."""
    stamps = ct_xml_stamps(args.ct_xml)
    sessions = {}    # ct id -> session (the current one of that id)
    done = []
    for ev in ct_events(args.ct_text):
        o, r = ev["orig"], ev["reply"]
        if o["src"] == r["dst"] and o["sport"] == r["dport"]:
            continue  # no source NAT (the export flow, the port forward)
        if ev["ev"] == "NEW":
            sessions[ev["id"]] = {
                "id": ev["id"], "proto": ev["proto"], "host": o["src"],
                "sport": o["sport"], "dst": o["dst"], "dport": o["dport"],
                "pub": r["dst"], "pport": r["dport"], "t_new": ev["t_ms"],
                "start": None, "stop": None}
        else:
            s = sessions.pop(ev["id"], None)
            if s is None:  # NEW before the listener started
                s = {"id": ev["id"], "proto": ev["proto"], "host": o["src"],
                     "sport": o["sport"], "dst": o["dst"],
                     "dport": o["dport"], "pub": r["dst"],
                     "pport": r["dport"], "t_new": None}
            st = stamps.get(ev["id"], {})
            s["start"] = st.get("start")
            s["stop"] = st.get("stop") or ev["t_ms"]
            if s["start"] is None:
                s["start"] = s["t_new"]
            done.append(s)
    for s in sessions.values():  # still alive when the listener stopped
        s["start"] = stamps.get(s["id"], {}).get("start") or s["t_new"]
        done.append(s)
    by_tuple = collections.defaultdict(list)
    for s in done:
        by_tuple[(s["proto"], s["host"], s["sport"], s["dst"],
                  s["dport"])].append(s)
    matched = unmatched = 0
    with open(args.gen, encoding="ascii") as f:
        gen = {}
        for line in f:
            rec = json.loads(line)
            key = (rec["proto"], rec["host"], rec["sport"], rec["dst"],
                   rec["dport"], rec["t_conn"])
            if rec["ev"] == "open" and key in gen:
                continue
            gen[key] = rec  # a close line replaces its open line
    for key, rec in gen.items():
        best = None
        for s in by_tuple.get(key[:5], []):
            if s["start"] is None or not (s["start"] - 3000 <= rec["t_conn"]
                                          <= (s["stop"] or INF)):
                continue
            if best is None or abs(s["start"] - rec["t_conn"]) < \
                    abs(best["start"] - rec["t_conn"]):
                best = s
        if best is None:
            unmatched += 1
            continue
        matched += 1
        best["t_conn"] = rec["t_conn"]
        best["t_close"] = rec.get("t_close")
    with open(args.out, "w", encoding="ascii") as f:
        json.dump(done, f)
    print("truth: %d NAT sessions seen by conntrack (%d still alive), "
          "%d of %d generator connections matched" % (
              len(done), sum(1 for s in done if s["stop"] is None),
              matched, matched + unmatched))
    return 0 if unmatched == 0 else 1


def load_truth(path):
    """The sessions of cmd_truth, and an index by public key."""
    with open(path, encoding="ascii") as f:
        sessions = json.load(f)
    index = collections.defaultdict(list)
    for s in sessions:
        index[(s["pub"], s["pport"], s["proto"])].append(s)
    return sessions, index


def truth_at(index, key, t):
    """The private hosts that held public KEY at time T (ms)."""
    return sorted({s["host"] for s in index.get(key, [])
                   if s["start"] <= t <= (s["stop"] or INF)})


# ------------------------------------------------------------------ questions

def cmd_pick(args):
    """natquery.py pick: COUNT questions; a tenth on long-lived
    connections (open at the end), a tenth on UDP, the rest on TCP.  The
    time lies inside the connection's talking life (between connect and
    close as its generator saw them), at least MARGIN ms from every start
    and stop of a session of the same public key."""
    sessions, index = load_truth(args.truth)
    rnd = random.Random(args.seed)
    asked = [s for s in sessions if s.get("t_conn") is not None]
    pools = {
        "long": [s for s in asked if s.get("t_close") is None],
        "udp": [s for s in asked if s["proto"] == 17 and s.get("t_close")],
        "tcp": [s for s in asked if s["proto"] == 6 and s.get("t_close")],
    }
    want = {"long": args.count // 10, "udp": args.count // 10}
    want["tcp"] = args.count - want["long"] - want["udp"]
    m = args.margin
    questions = []
    skipped = 0
    for kind in ("long", "udp", "tcp"):
        pool = pools[kind]
        n = 0
        tries = 0
        while pool and n < want[kind] and tries < 50 * args.count:
            tries += 1
            s = rnd.choice(pool)
            lo = max(s["t_conn"], s["start"]) + m
            hi = min(s.get("t_close") or args.now_ms, s["stop"] or INF) - m
            if hi <= lo:
                skipped += 1
                continue
            t = rnd.randint(int(lo), int(hi))
            key = (s["pub"], s["pport"], s["proto"])
            near = any(abs(t - x) < m for o in index[key]
                       for x in (o["start"], o["stop"]) if x is not None)
            if near:
                skipped += 1
                continue
            hosts = truth_at(index, key, t)
            assert s["host"] in hosts
            questions.append({"kind": kind, "pub": s["pub"],
                              "pport": s["pport"], "proto": s["proto"],
                              "t": t, "want": hosts, "asked_for": s["host"],
                              "id": s["id"], "start": s["start"],
                              "stop": s["stop"]})
            n += 1
    with open(args.out, "w", encoding="ascii") as f:
        json.dump(questions, f)
    shared = sum(1 for q in questions if len(q["want"]) > 1)
    print("pick: %d questions (%s), %d with more than one private host "
          "on that public port at that time, %d draws too near a session "
          "boundary redrawn" % (
              len(questions),
              ", ".join("%s %d" % (k, sum(1 for q in questions
                                          if q["kind"] == k))
                        for k in ("tcp", "udp", "long")),
              shared, skipped))
    return 0 if len(questions) == args.count else 1


# ------------------------------------------------------------------ answers

# nfdump's fmt line of a NAT event record (NAT_FMT in natlog_scenario.sh):
# observation time (ms), flowStart (s.ms), protocol, pre-NAT source and
# destination, post-NAT source and destination, ingress VRF, flowEnd
# (date and time in UTC with ms: nfdump 1.7.1's %ter drops the hundreds
# of its milliseconds).
NAT_FIELDS = ("obs", "start", "proto", "sa", "sp", "da", "dp", "xsa", "xsp",
              "xda", "xdp", "vrf", "end")


def parse_nat_lines(path, code):
    """nfdump fmt lines -> event dicts (natEvent CODE); "end" is flowEnd
    (None when the record has none)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != len(NAT_FIELDS):
                continue
            d = dict(zip(NAT_FIELDS, parts))
            try:
                ev = {"code": code, "obs": int(d["obs"]),
                      "start": compare.secs_to_ms(d["start"]),
                      "proto": int(d["proto"]), "sa": d["sa"],
                      "sp": int(d["sp"]), "da": d["da"], "dp": int(d["dp"]),
                      "xsa": d["xsa"], "xsp": int(d["xsp"]), "xda": d["xda"],
                      "xdp": int(d["xdp"]), "vrf": d["vrf"],
                      "end": nf_time(d["end"])}
            except ValueError:
                continue
            out.append(ev)
    return out


def nf_time(text):
    """nfdump's %te in UTC ('2026-12-06 23:35:11.116') -> ms; None when
    it is not one."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})$",
                 text.strip())
    if not m:
        return None
    v = [int(x) for x in m.groups()]
    return calendar.timegm(tuple(v[:6]) + (0, 0, 0)) * 1000 + v[6]


def translation(ev):
    """A NAT translation: protocol, pre- and post-NAT tuples, zone."""
    return (ev["proto"], ev["sa"], ev["sp"], ev["da"], ev["dp"], ev["xsa"],
            ev["xsp"], ev["xda"], ev["xdp"], ev["vrf"])


def build_sessions(events, create_codes, delete_codes, late_ms):
    """NAT sessions from create and delete events, paired exactly: both
    events of a session carry the same translation (protocol, pre- and
    post-NAT tuples, zone) and the same flowStart.  A delete gives the
    session's end (its event time); a create without a delete is a
    session still open.

    One step more, for a restarted exporter: a create without a delete
    is the same connection as a later, late create of the same
    translation (one the restart found in the kernel's table) whose start
    is not after it and whose observation time is: conntrack holds one
    entry per tuple, and that one held it from its start until it was
    seen.  The first create's start was when the NEW came, the late one's
    the kernel's stamp, so they differ.  Such a create is counted and
    dropped.  Returns the sessions and counters."""
    stats = collections.Counter()
    groups = {}
    for ev in events:
        if ev["code"] in create_codes:
            stats["creates"] += 1
            kind = "c"
        elif ev["code"] in delete_codes:
            stats["deletes"] += 1
            kind = "d"
        else:
            stats["other events"] += 1
            continue
        key = translation(ev) + (ev["start"],)
        g = groups.setdefault(key, {"c": [], "d": []})
        g[kind].append(ev)
    sessions = []
    for key, g in groups.items():
        s = {"tr": key[:-1], "host": key[1], "sport": key[2], "dst": key[3],
             "dport": key[4], "pub": key[5], "pport": key[6],
             "proto": key[0], "start": key[-1], "creates": len(g["c"]),
             "deletes": len(g["d"]),
             "c_obs": min((e["obs"] for e in g["c"]), default=None),
             "end": min((e["obs"] for e in g["d"]), default=None)}
        if s["c_obs"] is not None and s["c_obs"] - s["start"] > late_ms:
            stats["late creates"] += 1
            s["late"] = True
        if s["creates"] > 1:
            stats["duplicate creates (same start)"] += s["creates"] - 1
        if s["deletes"] > 1:
            stats["duplicate deletes (same start)"] += s["deletes"] - 1
        sessions.append(s)
    by_tr = collections.defaultdict(list)
    for s in sessions:
        by_tr[s["tr"]].append(s)
    kept = []
    for s in sessions:
        if s["end"] is None and s["creates"]:
            later = [o for o in by_tr[s["tr"]] if o is not s and o["creates"]
                     and o["c_obs"] > s["c_obs"]
                     and o["start"] <= s["start"] <= o["c_obs"]]
            if later:
                stats["creates sent again late by the restart (the first "
                      "one's start differs)"] += 1
                s["dup_of"] = later[0]
                continue
        kept.append(s)
    stats["sessions"] = len(kept)
    stats["paired sessions"] = sum(1 for s in kept if s["creates"] and
                                   s["end"] is not None)
    stats["creates without delete"] = sum(1 for s in kept
                                          if s["end"] is None)
    stats["deletes without create"] = sum(1 for s in kept
                                          if not s["creates"])
    return kept, [s for s in sessions if "dup_of" in s], stats


def link_truth(sessions, truth):
    """Each collector session's conntrack connection ("truth": the one of
    the same host, tuple and public port that began at most 5 ms after the
    session's start, the latest such; the NEW's time is a few ms after
    the kernel's stamp)."""
    index = collections.defaultdict(list)
    for t in truth:
        index[(t["proto"], t["host"], t["sport"], t["dst"], t["dport"],
               t["pub"], t["pport"])].append(t)
    for s in sessions:
        best = None
        for t in index.get((s["proto"], s["host"], s["sport"], s["dst"],
                            s["dport"], s["pub"], s["pport"]), []):
            if t["start"] - 5 <= s["start"] <= (t["stop"] or INF) and \
                    (best is None or t["start"] > best["start"]):
                best = t
        s["truth"] = best


def ask(questions, sessions):
    """Answer every question from SESSIONS: the private hosts whose
    session of that public address, port and protocol covers the time
    (and which sessions those are)."""
    index = collections.defaultdict(list)
    for s in sessions:
        index[(s["pub"], s["pport"], s["proto"])].append(s)
    for q in questions:
        cover = [s for s in index.get((q["pub"], q["pport"], q["proto"]), [])
                 if s["start"] <= q["t"] <=
                 (INF if s["end"] is None else s["end"])]
        q["cover"] = cover
        q["got"] = sorted({s["host"] for s in cover})
    return questions


class Kill:
    """The times of a kill -9 run (ms): the last checkpoint's mtime, the
    kill, the restarted daemon's ready line, and the flush interval."""

    SLACK = 100

    def __init__(self, args):
        self.ckpt, self.kill, self.restart = args.kill
        self.flush = args.flush_ms

    def orphan_ok(self, s):
        """A create without delete that a kill -9 leaves (cases a and b):
        sent after the last checkpoint (or in the datagram the kill lost),
        of a connection that ended before the restart."""
        t = s["truth"]
        return (s["end"] is None and s["c_obs"] is not None and
                s["c_obs"] >= self.ckpt - self.SLACK and t is not None and
                t["stop"] is not None and t["stop"] < self.restart)

    def gap_end(self, t):
        """The connection ended from the last flush before the kill to
        the restart (its delete lost, or sent at the restart)."""
        return (t is not None and t["stop"] is not None and
                self.kill - self.flush - self.SLACK <= t["stop"] <= self.restart)

    def blind(self, t):
        """No daemon saw the connection: it began after the last flush
        before the kill and ended before the restart."""
        return (t["stop"] is not None and
                t["start"] >= self.kill - self.flush - self.SLACK and
                t["stop"] <= self.restart)


def judge(q, kill, truth_index):
    """Verdict on one answer: "right", "extra" (excused extra host),
    "missing" (excused missing host) or "wrong", with the reason."""
    if q["got"] == q["want"]:
        return "right", ""
    if kill is None:
        return "wrong", "no kill: every answer must be exact"
    verdict = "right"
    for h in sorted(set(q["want"]) - set(q["got"])):
        lives = [t for t in truth_index.get((q["pub"], q["pport"],
                                             q["proto"]), [])
                 if t["host"] == h and t["start"] <= q["t"] <=
                 (t["stop"] or INF)]
        if not lives or not all(kill.blind(t) for t in lives):
            return "wrong", "%s missing" % h
        verdict = "missing"
    for h in sorted(set(q["got"]) - set(q["want"])):
        for s in q["cover"]:
            if s["host"] != h:
                continue
            t = s["truth"]
            if t is None or t["stop"] is None or q["t"] <= t["stop"]:
                return "wrong", "%s extra (session start %d, no connection " \
                    "of conntrack ended before the question)" % (h, s["start"])
            if not (kill.orphan_ok(s) or kill.gap_end(t)):
                return "wrong", "%s extra (session %d..%s, conntrack %d..%d, " \
                    "create seen %s)" % (h, s["start"], s["end"], t["start"],
                                         t["stop"], s["c_obs"])
        verdict = "extra" if verdict == "right" else verdict
    return verdict, ""


def report(label, questions, sessions, dups, stats, args):
    """Print the verdict of one collector; True when it passes."""
    truth, truth_index = load_truth(args.truth)
    kill = Kill(args) if args.kill else None
    link_truth(sessions, truth)
    link_truth(dups, truth)
    ok = True
    verdicts = collections.Counter()
    wrong = []
    for q in questions:
        v, why = judge(q, kill, truth_index)
        q["verdict"] = v
        verdicts[v] += 1
        if v == "wrong":
            wrong.append((q, why))
    gen = sum(1 for s in truth if s.get("t_conn") is not None)
    print("%s: questions asked %d, exactly right %d, with an excused extra "
          "host %d, with an excused missing host %d, wrong %d" % (
              label, len(questions), verdicts["right"], verdicts["extra"],
              verdicts["missing"], verdicts["wrong"]))
    for kind in ("tcp", "udp", "long"):
        qs = [q for q in questions if q["kind"] == kind]
        print("%s:   %-4s %d asked, %d exactly right, %d wrong" % (
            label, kind, len(qs), sum(1 for q in qs if q["verdict"] == "right"),
            sum(1 for q in qs if q["verdict"] == "wrong")))
    print("%s: NAT sessions in the collector's events %d (conntrack saw %d, "
          "the generator made %d); %s" % (
              label, stats.get("sessions", 0), len(truth), gen,
              ", ".join("%s %d" % (k, v) for k, v in sorted(stats.items())
                        if k != "sessions")))
    if args.file_bytes:
        print("%s: collector's files %d bytes, %.1f bytes per NAT "
              "connection" % (label, args.file_bytes,
                              args.file_bytes / max(1, len(truth))))
    unlinked = [s for s in sessions if s["truth"] is None]
    lags = [s["start"] - s["truth"]["start"] for s in sessions
            if s["truth"] is not None]
    print("%s: sessions without a conntrack connection %d; flowStart after "
          "the kernel's start stamp by %d..%d ms" % (
              label, len(unlinked), min(lags, default=0),
              max(lags, default=0)))
    if unlinked:
        ok = False
        for s in unlinked[:5]:
            print("%s: UNKNOWN session %s" % (label, s))
    ended = [s for s in sessions if s["truth"] is not None and
             s["truth"]["stop"] is not None]
    late_end = [s for s in ended if s["end"] is not None and
                s["end"] - s["truth"]["stop"] > 250]
    orphans = [s for s in ended if s["end"] is None]
    nocreate = [s for s in sessions if not s["creates"]]
    ends = [s["end"] - s["truth"]["stop"] for s in ended
            if s["end"] is not None and s not in late_end]
    print("%s: deletes timed %d..%d ms from conntrack's end; creates without "
          "delete of ended connections (orphans) %d, sessions extended "
          "(delete > 250 ms after the end) %d, deletes without create %d" % (
              label, min(ends, default=0), max(ends, default=0),
              len(orphans), len(late_end), len(nocreate)))
    if kill is None:
        if orphans or late_end or nocreate or stats.get("late creates") or \
                stats.get("duplicate deletes (same start)") or \
                stats.get("creates sent again late by the restart (the "
                          "first one's start differs)"):
            print("%s: FAIL: without a kill every create pairs with its "
                  "delete, on time" % label)
            ok = False
    else:
        created = [t for t in truth if kill.ckpt - kill.SLACK <= t["start"]
                   <= kill.kill]
        print("%s: kill -9: last checkpoint at kill %+d ms, restart ready "
              "at kill %+d ms; connections created from the checkpoint - "
              "%d ms to the kill %d; orphans %d (of them superseded by the "
              "restart's late create %d); sessions extended to the restart "
              "%d" % (label, kill.ckpt - kill.kill, kill.restart - kill.kill,
                      kill.SLACK, len(created), len(orphans) + len(dups),
                      len(dups), len(late_end)))
        if len(orphans) + len(dups) > len(created):
            print("%s: FAIL: more orphans than connections created after "
                  "the last checkpoint" % label)
            ok = False
        resent = [s for s in sessions if s["creates"] > 1] + dups
        print("%s: creates sent again by the restart %d (with the first "
              "one's start %d, another start %d)" % (
                  label, len(resent), len(resent) - len(dups), len(dups)))
        bad = [s for s in orphans if not kill.orphan_ok(s)]
        bad += [s for s in resent if s["c_obs"] < kill.ckpt - kill.SLACK]
        for s in bad[:10]:
            t = s["truth"] or {}
            print("%s: ORPHAN or create sent again outside the inherent cases: %s %s:%d -> %s:%d "
                  "public port %d, flowStart %d, create seen %s (checkpoint "
                  "%+d ms), conntrack %s..%s" % (
                      label, {6: "tcp", 17: "udp"}.get(s["proto"]),
                      s["host"], s["sport"], s["dst"], s["dport"], s["pport"],
                      s["start"], s["c_obs"],
                      (s["c_obs"] or 0) - kill.ckpt, t.get("start"),
                      t.get("stop")))
        if bad:
            print("%s: FAIL: %d orphans or creates sent again outside the "
                  "inherent cases" % (
                label, len(bad)))
            ok = False
        badx = [s for s in late_end if not kill.gap_end(s["truth"])]
        for s in badx[:10]:
            print("%s: EXTENDED outside the gap: %s" % (label, s))
        if badx:
            print("%s: FAIL: %d sessions extended whose connection did not "
                  "end in the gap" % (label, len(badx)))
            ok = False
        again = [t for t in truth if t["stop"] is not None and
                 kill.ckpt - kill.SLACK <= t["stop"] <= kill.restart]
        dd = stats.get("duplicate deletes (same start)", 0)
        print("%s: deletes sent again by the restart (same start) %d; "
              "connections that ended from the checkpoint - %d ms to the "
              "restart %d" % (label, dd, kill.SLACK, len(again)))
        if dd > len(again):
            print("%s: FAIL: more deletes sent again than connections that "
                  "ended after the last checkpoint" % label)
            ok = False
        if late_end:
            print("%s: extended sessions' deletes at restart %+d..%+d ms" % (
                label, min(s["end"] for s in late_end) - kill.restart,
                max(s["end"] for s in late_end) - kill.restart))
        lo, hi = kill.kill, kill.restart
        for name, pred in (
                ("started while no exporter ran",
                 lambda t: lo <= t["start"] <= hi),
                ("ended while no exporter ran",
                 lambda t: t["stop"] is not None and lo <= t["stop"] <= hi
                 and t["start"] < lo),
                ("spanned the kill", lambda t: t["start"] < lo and
                 (t["stop"] is None or t["stop"] > hi))):
            ids = {t["id"] for t in truth if pred(t)}
            qs = [q for q in questions if q["id"] in ids]
            print("%s:   connections that %s: %d; questions about them %d, "
                  "exactly right %d, wrong %d" % (
                      label, name, len(ids), len(qs),
                      sum(1 for q in qs if q["verdict"] == "right"),
                      sum(1 for q in qs if q["verdict"] == "wrong")))
    for q, why in wrong[:15]:
        print("%s: WRONG %s %s:%d at %d: want %s, got %s: %s" % (
            label, {6: "tcp", 17: "udp"}.get(q["proto"]), q["pub"],
            q["pport"], q["t"], q["want"], q["got"], why))
    for q in [q for q in questions if q["verdict"] == "extra"][:5]:
        print("%s: excused %s:%d at %d: want %s, got %s" % (
            label, q["pub"], q["pport"], q["t"], q["want"], q["got"]))
    return ok and not wrong


def finish(label, events, creates, deletes, args, extra_ok=True):
    """Sessions, answers and the verdict of one collector's events."""
    sessions, dups, stats = build_sessions(events, creates, deletes,
                                           args.late_ms)
    for code in sorted({e["code"] for e in events}):
        stats["natEvent %d" % code] = sum(1 for e in events
                                          if e["code"] == code)
    with open(args.questions, encoding="ascii") as f:
        questions = json.load(f)
    ask(questions, sessions)
    ok = report(label, questions, sessions, dups, stats, args)
    if args.out:
        for q in questions:
            q["cover"] = [[s["host"], s["start"], s["end"]]
                          for s in q["cover"]]
        with open(args.out, "w", encoding="ascii") as f:
            json.dump(questions, f)
    return 0 if ok and extra_ok else 1


def cmd_answer(args):
    """natquery.py answer: see the module's doc.  Every record must carry
    flowEnd equal to its observation time (the event's time)."""
    events = []
    for spec in args.events:
        code, path = spec.split("=", 1)
        events.extend(parse_nat_lines(path, int(code)))
    creates = {int(c) for c in args.create.split(",")}
    deletes = {int(c) for c in args.delete.split(",")}
    off = [e for e in events if e["end"] != e["obs"]]
    print("%s: records whose flowEnd is not their observation time %d of "
          "%d" % (args.label, len(off), len(events)))
    return finish(args.label, events, creates, deletes, args, not off)


def cmd_pmacct(args):
    """natquery.py pmacct: answers from pmacct's print plugin CSV (a
    header line, repeated at every append; columns named after the
    aggregation primitives, times in epoch seconds).  nfacctd takes
    timestamp_start from flowStartMilliseconds and timestamp_end from
    flowEndMilliseconds (the event's time); every event must have both
    (no fallback to the arrival time)."""
    events = []
    no_end = collections.Counter()
    with open(args.csv, encoding="utf-8", errors="replace") as f:
        header = None
        for line in f:
            cols = [c.strip() for c in line.rstrip("\n").split(",")]
            if "SRC_IP" in cols:
                header = cols
                continue
            if header is None:
                continue
            d = dict(zip(header, cols))
            try:
                ev = {"code": int(d["NAT_EVENT"]),
                      "start": pm_time(d["TIMESTAMP_START"]),
                      "obs": pm_time(d.get("TIMESTAMP_END")),
                      "proto": PM_PROTO.get(d["PROTOCOL"].lower()) or
                      int(d["PROTOCOL"]),
                      "sa": d["SRC_IP"], "sp": int(d["SRC_PORT"]),
                      "da": d["DST_IP"], "dp": int(d["DST_PORT"]),
                      "xsa": d["POST_NAT_SRC_IP"],
                      "xsp": int(d["POST_NAT_SRC_PORT"]),
                      "xda": d.get("POST_NAT_DST_IP", ""),
                      "xdp": int(d.get("POST_NAT_DST_PORT") or 0),
                      "vrf": ""}
            except (KeyError, ValueError):
                continue
            if ev["start"] is None or ev["obs"] is None:
                no_end["without timestamp_start" if ev["start"] is None
                       else "without timestamp_end"] += 1
                continue
            events.append(ev)
    print("%s: events %d, %s" % (
        args.label, len(events) + sum(no_end.values()),
        ", ".join("%s %d" % kv for kv in sorted(no_end.items()))
        or "every one with timestamp_start and timestamp_end"))
    return finish(args.label, events, {1}, {2}, args, not no_end)


PM_PROTO = {"tcp": 6, "udp": 17, "icmp": 1}


def pm_time(text):
    """pmacct's timestamp (epoch seconds with a fraction) -> ms; None when
    empty or 0."""
    text = (text or "").strip()
    if not re.match(r"^\d+(\.\d+)?$", text) or not text.strip("0."):
        return None
    return compare.secs_to_ms(text)


def main():
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("base")
    s.add_argument("count")
    s.add_argument("tcp")
    s.add_argument("udp")
    s.add_argument("seconds")
    s.set_defaults(func=cmd_server)
    s = sub.add_parser("gen")
    s.add_argument("--log", required=True)
    s.add_argument("--host-base", default="192.0.2.10")
    s.add_argument("--hosts", type=int, default=100)
    s.add_argument("--server-base", default="203.0.113.1")
    s.add_argument("--servers", type=int, default=10)
    s.add_argument("--tcp", type=int, default=10000)
    s.add_argument("--udp", type=int, default=500)
    s.add_argument("--long", type=int, default=50)
    s.add_argument("--tcp-port", type=int, default=80)
    s.add_argument("--udp-port", type=int, default=53)
    s.add_argument("--long-port", type=int, default=8000)
    s.add_argument("--parallel", type=int, default=300)
    s.add_argument("--spread", type=float, default=30.0,
                   help="seconds over which the short connections start")
    s.add_argument("--hold-min", type=float, default=0.05)
    s.add_argument("--hold-max", type=float, default=1.0)
    s.add_argument("--trigger", default="/nonexistent",
                   help="long-lived connections close once this file exists")
    s.add_argument("--seconds", type=float, default=150.0,
                   help="everything ends within this bound")
    s.add_argument("--seed", type=int, default=8158)
    s.set_defaults(func=cmd_gen)
    s = sub.add_parser("truth")
    s.add_argument("--gen", required=True)
    s.add_argument("--ct-text", required=True)
    s.add_argument("--ct-xml", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_truth)
    s = sub.add_parser("pick")
    s.add_argument("--truth", required=True)
    s.add_argument("--count", type=int, default=1000)
    s.add_argument("--now-ms", type=int, required=True)
    s.add_argument("--margin", type=int, default=20)
    s.add_argument("--seed", type=int, default=5)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_pick)
    for name, func in (("answer", cmd_answer), ("pmacct", cmd_pmacct)):
        s = sub.add_parser(name)
        s.add_argument("--truth", required=True)
        s.add_argument("--questions", required=True)
        s.add_argument("--label", default=name)
        s.add_argument("--late-ms", type=int, default=1000)
        s.add_argument("--file-bytes", type=int, default=0)
        s.add_argument("--kill", type=int, nargs=3,
                       metavar=("CKPT_MS", "KILL_MS", "RESTART_MS"),
                       help="a kill -9 run: the last checkpoint's mtime, "
                       "the kill, the restarted daemon ready")
        s.add_argument("--flush-ms", type=int, default=200,
                       help="the daemon's flush_interval")
        s.add_argument("--out")
        s.set_defaults(func=func)
    s = sub.choices["answer"]
    s.add_argument("--events", nargs="+", required=True, metavar="CODE=FILE")
    s.add_argument("--create", default="4,1")
    s.add_argument("--delete", default="5,2")
    s = sub.choices["pmacct"]
    s.add_argument("--csv", required=True)
    args = p.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
