#!/usr/bin/python3
"""Loss checks of the nfflowd lab ("lose no flow"): bounded traffic
generators that log the ports they used, and a counter of what reached the
collector against what had to.

  lossless.py tcp-server HOST PORT LOG SECONDS
      accept, read until EOF or a line, answer, close; log each peer port
  lossless.py tcp-burst HOST PORT COUNT PARALLEL LOG SECONDS [RATE]
      COUNT short connections, at most PARALLEL at once (and RATE a
      second); log each local port
  lossless.py hold-client HOST PORT TRIGGER SECONDS
      one connection held open until the file TRIGGER exists
  lossless.py check ...       see cmd_check
  lossless.py span ...        see cmd_span
  lossless.py counters ...    see cmd_counters

Every process and wait here ends on its own within its SECONDS bound.
"""

import argparse
import collections
import errno
import json
import os
import re
import selectors
import socket
import sys
import time

# The lab's own modules, from this file's folder (without __pycache__).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
import compare  # noqa: E402
from peer import expect_answer  # noqa: E402
# pylint: enable=wrong-import-position

LAN_NET = "192.0.2."
FW_WAN = "198.51.100.1"
WAN = "198.51.100.2"


# ------------------------------------------------------------------ traffic

def tcp_server(host, port, log, seconds):
    """Non-blocking server: many clients at once, each answered and closed;
    the peer port of every accepted connection goes to LOG."""
    deadline = time.monotonic() + float(seconds)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    out = open(log, "w", encoding="ascii", buffering=1)
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            if key.data is None:
                for _ in range(64):
                    try:
                        c, peer = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    out.write("%s %d\n" % peer)
                    sel.register(c, selectors.EVENT_READ, bytearray())
                continue
            c, buf = key.fileobj, key.data
            try:
                chunk = c.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            buf += chunk
            if chunk and not buf.endswith(b"\n"):
                continue
            try:
                c.send(b"answer:" + bytes(buf[-64:]) if chunk else b"")
            except OSError:
                pass
            sel.unregister(c)
            c.close()
    out.close()


def tcp_burst(host, port, count, parallel, log, seconds, rate="0"):
    """COUNT connections, PARALLEL in flight (and at most RATE started per
    second if RATE > 0): connect, send a line, read the answer until the
    server closes, close.  Logs local ports of the connections that
    completed; exits 1 if any failed or time ran out."""
    count, parallel, rate = int(count), int(parallel), float(rate)
    deadline = time.monotonic() + float(seconds)
    sel = selectors.DefaultSelector()
    started = done = failed = 0
    out = open(log, "w", encoding="ascii")
    t0 = time.monotonic()

    def start_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, int(port)))
        except BlockingIOError:
            pass
        sel.register(s, selectors.EVENT_WRITE, {"state": "connect",
                                                 "got": b""})

    while done + failed < count and time.monotonic() < deadline:
        while started < count and started - done - failed < parallel:
            if rate > 0 and started >= rate * (time.monotonic() - t0) + 1:
                break
            start_one()
            started += 1
        for key, _ in sel.select(timeout=0.01 if rate > 0 else 0.2):
            s, st = key.fileobj, key.data
            try:
                if st["state"] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    st["port"] = s.getsockname()[1]
                    s.send(b"burst\n")
                    st["state"] = "read"
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                chunk = s.recv(4096)
                if chunk:
                    st["got"] += chunk
                    continue
                if not st["got"].startswith(b"answer:"):
                    raise OSError(errno.EPROTO, "bad answer %r" % st["got"])
                out.write("%d\n" % st["port"])
                done += 1
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                failed += 1
                if failed <= 5:
                    print("tcp-burst: %s" % e, file=sys.stderr)
            sel.unregister(s)
            s.close()
    elapsed = time.monotonic() - t0
    out.close()
    print("tcp-burst: %d of %d connections completed in %.2f s "
          "(%.0f per second), %d failed"
          % (done, count, elapsed, done / elapsed if elapsed else 0, failed))
    return 0 if done == count else 1


def hold_client(host, port, trigger, seconds):
    """One connection, held open (a line every second) until TRIGGER
    exists, then closed after the server's answer."""
    deadline = time.monotonic() + float(seconds)
    c = socket.create_connection((host, int(port)), timeout=5)
    print("hold-client: local port %d" % c.getsockname()[1], flush=True)
    c.sendall(b"hello ")
    while not os.path.exists(trigger):
        if time.monotonic() > deadline:
            sys.exit("hold-client: no trigger within %s s" % seconds)
        time.sleep(0.1)
    c.sendall(b"bye\n")
    expect_answer(c, "hold-client")
    return 0


# ------------------------------------------------------------------ records

def read_nfdump(path):
    """Records from `nfdump -q -N -6 -o fmt:%tsr|%ter|%pr|%sa|%sp|%da|%dp|
    %pkt|%byt|...` lines: (key, packets, bytes, first_ms), key =
    (proto, src, sport, dst, dport).  The end time is not read: nfdump
    1.7.1 prints %ter with a wrong millisecond part (.891 as .091)."""
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = [x.strip() for x in line.split("|")]
            if len(p) < 9:
                continue
            key = (int(p[2]), p[3], int(p[4]), p[5], int(p[6]))
            recs.append((key, int(p[7]), int(p[8]),
                         round(float(p[0]) * 1000)))
    return recs


def read_csv(path):
    """Keys of the daemon's CSV record lines (SPEC section 5)."""
    keys = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            p = line.strip().split(",")
            if len(p) != 18:
                continue
            keys.append((int(p[15]), p[8], int(p[13]), p[9], int(p[14])))
    return keys


def storm_entries(n):
    """The records of ctstorm's entries 0..n-1 (see tests/tools/ctstorm.c):
    entry -> (record 1, record 2, record 3)."""
    ents = []
    for i in range(n):
        port = 1024 + i % 60000
        server = 80 + i // 60000
        lan = LAN_NET + str(2 + i // 60000 % 200)
        proto = 17 if i % 2 else 6
        ents.append(((proto, lan, port, WAN, server),
                     (proto, FW_WAN, port, WAN, server),
                     (proto, WAN, server, FW_WAN, port)))
    return ents


def conn_entries(client_log, server_log):
    """Records of lan -> wan:80 TCP connections through the masquerade: one
    entry per connection; the client logged its port (record 1), the server
    the port it saw (records 2 and 3).  The two logs are not paired, so
    each record is its own entry."""
    ents = []
    with open(client_log, encoding="ascii") as f:
        for line in f:
            if line.strip():
                ents.append(((6, LAN_NET + "2", int(line), WAN, 80),))
    with open(server_log, encoding="ascii") as f:
        for line in f:
            if not line.strip():
                continue
            host, port = line.split()
            if host != FW_WAN:
                continue
            ents.append(((6, FW_WAN, int(port), WAN, 80),))
            ents.append(((6, WAN, 80, FW_WAN, int(port)),))
    return ents


def cmd_check(a):
    """Compares the collector's records with the expected ones, by key and
    count (a client port reused for a later connection to the same server
    makes the same key twice): no record more often than expected, none
    outside the expected set (unless --others-ok), every record of a real
    connection there, every ctstorm record there with --exact, ctstorm
    entries whole or not at all, with zero counters; daemon stdout equal
    to the collector."""
    errors = []
    ents = []
    if a.storm:
        ents += [(e, "storm") for e in storm_entries(a.storm)]
        if not a.storm_reply:
            ents = [((e[0], e[1]), t) for e, t in ents]
    if a.client_log:
        ents += [(e, "conn") for e in conn_entries(a.client_log, a.server_log)]
    want = collections.Counter()
    kind = {}
    for e, k in ents:
        for key in e:
            want[key] += 1
            kind[key] = k
    recs = read_nfdump(a.nfdump)
    got = collections.Counter(r[0] for r in recs)
    dups = {k: got[k] - want[k] for k in got if k in want and got[k] > want[k]}
    others = [k for k in got if k not in want]
    missing = want - got
    missing_conn = [k for k in missing if kind[k] == "conn"]
    exported = sum(1 for e, k in ents if k == "storm" and
                   all(key in got for key in e))
    partial = [e for e, k in ents if k == "storm" and
               any(key in got for key in e) and
               not all(key in got for key in e)]
    print("collector: %d records (%d distinct keys); expected %d records "
          "(%d distinct); %d ctstorm entries complete, %d partial; %d "
          "missing records, %d keys more often than expected, %d "
          "unexpected keys"
          % (len(recs), len(got), sum(want.values()), len(want), exported,
             len(partial), sum(missing.values()), len(dups), len(others)))
    if dups:
        errors.append("%d records arrived more often than expected, e.g. %s"
                      % (sum(dups.values()), list(dups.items())[:3]))
    if others and not a.others_ok:
        errors.append("%d unexpected records, e.g. %s"
                      % (len(others), sorted(others)[:3]))
    if a.exact and missing:
        errors.append("%d expected records missing, e.g. %s"
                      % (sum(missing.values()), sorted(missing)[:3]))
    elif missing_conn:
        errors.append("%d records of real connections missing, e.g. %s"
                      % (len(missing_conn), sorted(missing_conn)[:3]))
    if partial:
        errors.append("%d entries exported only in part, e.g. %s"
                      % (len(partial), partial[:2]))
    bad = [r for r in recs if kind.get(r[0]) == "storm" and (r[1] or r[2])]
    if bad:
        errors.append("%d ctstorm records carry counters, e.g. %s"
                      % (len(bad), bad[:2]))
    bad = [r for r in recs if kind.get(r[0]) == "conn" and r[1] == 0]
    if bad:
        errors.append("%d records of real connections without packets, "
                      "e.g. %s" % (len(bad), bad[:2]))
    if a.lost is not None:
        storm_n = a.storm or 0
        if exported + a.lost != storm_n:
            errors.append("%d entries exported + %d counted lost = %d, "
                          "expected %d" % (exported, a.lost,
                                           exported + a.lost, storm_n))
        else:
            print("%d entries exported + %d counted lost = %d created"
                  % (exported, a.lost, storm_n))
    if a.csv:
        csv = collections.Counter(read_csv(a.csv))
        if csv != got:
            only_csv = csv - got
            only_coll = got - csv
            errors.append("daemon stdout (%d records) differs from the "
                          "collector (%d): %d only on stdout, e.g. %s; %d "
                          "only at the collector, e.g. %s"
                          % (sum(csv.values()), len(recs),
                             sum(only_csv.values()), list(only_csv)[:2],
                             sum(only_coll.values()), list(only_coll)[:2]))
        else:
            print("daemon stdout lists exactly the collector's records")
    if a.expect_records is not None and len(recs) != a.expect_records:
        errors.append("collector has %d records, expected %d"
                      % (len(recs), a.expect_records))
    if a.print_entries:
        print("EXPORTED_ENTRIES=%d" % exported)
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


def cmd_span(a):
    """One held TCP connection from lan port --port: the oracle saw it end
    once, the collector has each of its three records exactly once, and
    each record's start is within --tol-ms of the kernel's start."""
    errors = []
    conns = [c for c in compare.load_oracle(a.ct_text, a.ct_xml)
             if c["proto"] == 6 and c["orig"]["sport"] == a.port
             and c["orig"]["dst"] == WAN and c["orig"]["dport"] == 80]
    if len(conns) != 1:
        print("FAIL: the oracle saw %d ends of the connection from port %d"
              % (len(conns), a.port))
        return 1
    c = conns[0]
    nat = c["reply"]["dport"]
    start_ms = c["start_ns"] / 1e6
    keys = [(c["orig"]["src"], WAN, a.port, 80, 6),
            (FW_WAN, WAN, nat, 80, 6), (WAN, FW_WAN, 80, nat, 6)]
    recs = compare.parse_nfdump_json(a.nfdump_json)
    for n, k in enumerate(keys, 1):
        hits = [r for r in recs if r["key"][:5] == k]
        if len(hits) != 1:
            errors.append("record %d %s arrived %d times" % (n, k, len(hits)))
            continue
        d = hits[0]["first"] - start_ms
        print("record %d: start %+.0f ms from the kernel's, %d packets"
              % (n, d, hits[0]["key"][5]))
        if abs(d) > a.tol_ms:
            errors.append("record %d starts %.0f ms off the kernel's start"
                          % (n, d))
        if hits[0]["key"][5] == 0:
            errors.append("record %d has no packets" % n)
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


# ------------------------------------------------------------------ counters

COUNTER_RE = {
    "live": r"live (\d+)",
    "new": r"events new (\d+)",
    "destroy": r"destroy (\d+)",
    "records": r"records (\d+)",
    "datagrams": r"datagrams (\d+)",
    "send_errors": r"send errors (\d+)",
    "overruns": r"overruns (\d+)",
    "ttl_expired": r"ttl expired (\d+)",
}


def from_socket(path):
    """The counters object of the control socket ("counters" request)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b"counters\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    obj = json.loads(buf.decode())
    if obj.get("type") != "counters":
        raise ValueError("no counters in %r" % buf[:200])
    flat = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                flat["%s_%s" % (k, k2)] = v2
        else:
            flat[k] = v
    flat["new"] = flat.get("events_new")
    flat["destroy"] = flat.get("events_destroy")
    return flat


def from_log(path):
    """Counters from the daemon's stderr: the last "stopped:" line, the
    highest "lost so far", and how many resync lines were printed."""
    out = {}
    text = open(path, encoding="utf-8", errors="replace").read()
    stops = [l for l in text.splitlines() if "stopped:" in l]
    if stops:
        for k, rx in COUNTER_RE.items():
            m = re.search(rx, stops[-1])
            if m:
                out[k] = int(m.group(1))
    lost = [int(x) for x in re.findall(r"\((\d+) lost so far\)", text)]
    if lost:
        out["lost_entries_logged"] = max(lost)
    out["resync_lines"] = len(re.findall(r"resynchronised", text))
    out["reload_lines"] = len(re.findall(r"configuration reloaded", text))
    return out


def cmd_counters(a):
    """Prints NAME=VALUE lines: from the control socket if it answers,
    else from the daemon's log."""
    vals = None
    if a.socket:
        try:
            vals = from_socket(a.socket)
            vals["via"] = "socket"
        except (OSError, ValueError) as e:
            print("# control socket: %s" % e, file=sys.stderr)
    if vals is None and a.log:
        vals = from_log(a.log)
        vals["via"] = "log"
    for k, v in sorted((vals or {}).items()):
        if v is not None:
            print("%s=%s" % (k, v))
    return 0 if vals else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("tcp-server", "tcp-burst",
                                             "hold-client"):
        fn = {"tcp-server": tcp_server, "tcp-burst": tcp_burst,
              "hold-client": hold_client}[sys.argv[1]]
        return fn(*sys.argv[2:]) or 0
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("--nfdump", required=True)
    p.add_argument("--csv")
    p.add_argument("--storm", type=int, default=0)
    p.add_argument("--storm-reply", action="store_true",
                   help="ctstorm entries have record 3 (no accounting)")
    p.add_argument("--client-log")
    p.add_argument("--server-log")
    p.add_argument("--exact", action="store_true")
    p.add_argument("--others-ok", action="store_true")
    p.add_argument("--lost", type=int)
    p.add_argument("--expect-records", type=int)
    p.add_argument("--print-entries", action="store_true")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("span")
    p.add_argument("--nfdump-json", required=True)
    p.add_argument("--ct-text", required=True)
    p.add_argument("--ct-xml", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tol-ms", type=float, default=1000.0)
    p.set_defaults(func=cmd_span)
    p = sub.add_parser("counters")
    p.add_argument("--socket")
    p.add_argument("--log")
    p.set_defaults(func=cmd_counters)
    a = ap.parse_args()
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
