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
      fmt lines, one file per natEvent value) and compare with the truth;
      exit 1 on any wrong answer
  natquery.py pmacct --truth TRUTH --questions Q --csv FILE
      the same from pmacct's print plugin (CSV) output

Every process and wait here ends on its own within its bound.
"""

import argparse
import asyncio
import collections
import ipaddress
import json
import os
import random
import re
import socket
import sys
import time
import xml.etree.ElementTree as ET

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
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("<flow "):
                continue
            try:
                flow = ET.fromstring(line)
            except ET.ParseError:
                continue
            ind = flow.find("meta[@direction='independent']")
            if ind is None or ind.find("id") is None:
                continue
            ts = ind.find("timestamp")
            d = out.setdefault(int(ind.find("id").text), {})
            if ts is not None:
                for k in ("start", "stop"):
                    if ts.find(k) is not None:
                        d[k] = int(ts.find(k).text) // 1000000
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
# destination, post-NAT source and destination, ingress VRF.
NAT_FIELDS = ("obs", "start", "proto", "sa", "sp", "da", "dp", "xsa", "xsp",
              "xda", "xdp", "vrf")


def parse_nat_lines(path, code):
    """nfdump fmt lines -> event dicts (natEvent CODE)."""
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
                      "xdp": int(d["xdp"]), "vrf": d["vrf"]}
            except ValueError:
                continue
            out.append(ev)
    return out


def build_sessions(events, create_codes, delete_codes, late_ms, fuzz_ms=1000):
    """NAT sessions from create and delete events.  A session is one
    translation (its pre- and post-NAT tuples, protocol and zone): a delete
    gives its whole life, [flowStart, observation time]; the creates of the
    same translation whose flowStart lies from that start to FUZZ_MS after
    it, and not after the delete, are the same session (a create sent at
    conntrack's NEW event carries the exporter's clock, a few ms after the
    kernel's start stamp that the delete carries: the NEW event has no
    stamp); creates without a delete are sessions still open, and creates
    of one translation within FUZZ_MS of each other one of them (the late
    duplicates a restarted exporter sends).  Returns the sessions and
    counters."""
    stats = collections.Counter()
    groups = collections.defaultdict(lambda: ([], []))
    for ev in events:
        if ev["code"] in create_codes:
            stats["creates"] += 1
            if ev["obs"] - ev["start"] > late_ms:
                stats["late creates"] += 1
            i = 0
        elif ev["code"] in delete_codes:
            stats["deletes"] += 1
            i = 1
        else:
            stats["other events"] += 1
            continue
        key = (ev["proto"], ev["sa"], ev["sp"], ev["da"], ev["dp"],
               ev["xsa"], ev["xsp"], ev["xda"], ev["xdp"], ev["vrf"])
        groups[key][i].append(ev)
    sessions = []
    offsets = []
    for key, (creates, deletes) in groups.items():
        mine = []
        for d in sorted(deletes, key=lambda e: e["start"]):
            if mine and mine[-1]["start"] == d["start"]:
                stats["duplicate deletes"] += 1
                mine[-1]["end"] = min(mine[-1]["end"], d["obs"])
                continue
            mine.append({"host": key[1], "pub": key[5], "pport": key[6],
                         "proto": key[0], "start": d["start"],
                         "end": d["obs"], "creates": 0})
        for c in sorted(creates, key=lambda e: e["start"]):
            best = None
            for s in mine:
                if s["start"] - fuzz_ms <= c["start"] <= s["start"] + fuzz_ms \
                        and (s["end"] is None or c["start"] <= s["end"]):
                    if best is None or abs(c["start"] - s["start"]) < \
                            abs(c["start"] - best["start"]):
                        best = s
            if best is None:
                best = {"host": key[1], "pub": key[5], "pport": key[6],
                        "proto": key[0], "start": c["start"], "end": None,
                        "creates": 0}
                mine.append(best)
            elif best["end"] is not None and best["creates"] == 0:
                offsets.append(c["start"] - best["start"])
            best["creates"] += 1
            best["start"] = min(best["start"], c["start"])
        for s in mine:
            if s["creates"] > 1:
                stats["duplicate creates"] += s["creates"] - 1
            if s["creates"] == 0:
                stats["sessions without create"] += 1
            if s["end"] is None:
                stats["sessions without delete"] += 1
        sessions.extend(mine)
    stats["sessions"] = len(sessions)
    if offsets:
        stats["creates whose flowStart is after the delete's"] = sum(
            1 for o in offsets if o > 0)
        stats["their largest offset ms"] = max(offsets)
        stats["creates whose flowStart is before the delete's"] = sum(
            1 for o in offsets if o < 0)
    return sessions, stats


def ask(questions, sessions):
    """Answer every question from SESSIONS: the private hosts whose
    session of that public address, port and protocol covers the time."""
    index = collections.defaultdict(list)
    for s in sessions:
        index[(s["pub"], s["pport"], s["proto"])].append(s)
    for q in questions:
        got = sorted({s["host"] for s in index.get(
            (q["pub"], q["pport"], q["proto"]), [])
            if s["start"] <= q["t"] <= (INF if s["end"] is None else s["end"])})
        q["got"] = got
    return questions


def report(label, questions, stats, truth, args):
    """Print the verdict of one collector; True when every answer is
    right."""
    right = [q for q in questions if q["got"] == q["want"]]
    wrong = [q for q in questions if q["got"] != q["want"]]
    sessions, _ = load_truth(args.truth)
    gen = sum(1 for s in sessions if s.get("t_conn") is not None)
    print("%s: questions asked %d, right answers %d, wrong %d" % (
        label, len(questions), len(right), len(wrong)))
    for kind in ("tcp", "udp", "long"):
        qs = [q for q in questions if q["kind"] == kind]
        print("%s:   %-4s %d asked, %d right" % (
            label, kind, len(qs), sum(1 for q in qs if q["got"] == q["want"])))
    print("%s: NAT sessions in the collector's events %d (conntrack saw %d, "
          "the generator made %d); %s" % (
              label, stats.get("sessions", 0), len(sessions), gen,
              ", ".join("%s %d" % (k, v) for k, v in sorted(stats.items())
                        if k != "sessions")))
    if args.file_bytes:
        print("%s: collector's files %d bytes, %.1f bytes per NAT "
              "connection" % (label, args.file_bytes,
                              args.file_bytes / max(1, len(sessions))))
    by_id = {s["id"]: s for s in sessions}
    for q in wrong[:15]:
        s = by_id.get(q["id"], {})
        print("%s: WRONG %s %s:%d at %d: want %s, got %s (asked for %s "
              "port %s, kernel life %s..%s)" % (
                  label, {6: "tcp", 17: "udp"}.get(q["proto"]), q["pub"],
                  q["pport"], q["t"], q["want"], q["got"], q["asked_for"],
                  s.get("sport"), s.get("start"), s.get("stop")))
    if args.gap:
        lo, hi = args.gap
        for name, pred in (
                ("started while no exporter ran",
                 lambda s: lo <= s["start"] <= hi),
                ("ended while no exporter ran",
                 lambda s: s["stop"] is not None and lo <= s["stop"] <= hi
                 and s["start"] < lo),
                ("spanned the kill", lambda s: s["start"] < lo and
                 (s["stop"] is None or s["stop"] > hi))):
            ids = {s["id"] for s in sessions if pred(s)}
            qs = [q for q in questions if q["id"] in ids]
            print("%s:   connections that %s: %d; questions about them %d, "
                  "right %d" % (label, name, len(ids), len(qs),
                                sum(1 for q in qs if q["got"] == q["want"])))
    del truth
    if args.gap:
        # No listener saw a connection that began and ended while no
        # exporter ran: no answer can name its host, but none may name
        # another.
        lo, hi = args.gap
        blind = {s["id"] for s in sessions if lo <= s["start"] and
                 s["stop"] is not None and s["stop"] <= hi}
        excused = [q for q in wrong if q["id"] in blind and
                   set(q["got"]) <= set(q["want"])]
        print("%s:   connections that lived only while no exporter ran: %d; "
              "wrong answers about them that name no wrong host (excused) "
              "%d" % (label, len(blind), len(excused)))
        wrong = [q for q in wrong if q not in excused]
    return not wrong


def cmd_answer(args):
    """natquery.py answer: see the module's doc."""
    events = []
    for spec in args.events:
        code, path = spec.split("=", 1)
        events.extend(parse_nat_lines(path, int(code)))
    creates = {int(c) for c in args.create.split(",")}
    deletes = {int(c) for c in args.delete.split(",")}
    sessions, stats = build_sessions(events, creates, deletes, args.late_ms)
    for code in sorted({e["code"] for e in events}):
        stats["natEvent %d" % code] = sum(1 for e in events
                                          if e["code"] == code)
    with open(args.questions, encoding="ascii") as f:
        questions = json.load(f)
    ask(questions, sessions)
    ok = report(args.label, questions, stats, None, args)
    if args.out:
        with open(args.out, "w", encoding="ascii") as f:
            json.dump(questions, f)
    return 0 if ok else 1


def cmd_pmacct(args):
    """natquery.py pmacct: answers from pmacct's print plugin CSV (a
    header line, repeated at every append; columns named after the
    aggregation primitives, times in epoch seconds).  nfacctd takes
    timestamp_start from flowStartMilliseconds and ignores
    observationTimeMilliseconds when flowStart is there, so a delete's
    time is the latest of timestamp_end and timestamp_arrival (when the
    collector received it: after the connection's end, by the exporter's
    flush interval and the way)."""
    events = []
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
            ev["obs"] = max(pm_time(d.get("TIMESTAMP_END")) or 0,
                            pm_time(d.get("TIMESTAMP_ARRIVAL")) or 0)
            if ev["start"] is None:
                continue
            events.append(ev)
    sessions, stats = build_sessions(events, {1}, {2}, args.late_ms)
    with open(args.questions, encoding="ascii") as f:
        questions = json.load(f)
    ask(questions, sessions)
    return 0 if report(args.label, questions, stats, None, args) else 1


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
        s.add_argument("--gap", type=int, nargs=2, metavar=("FROM_MS", "TO_MS"),
                       help="when no exporter ran (kill -9 to ready)")
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
