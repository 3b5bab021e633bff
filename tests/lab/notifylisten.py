#!/usr/bin/python3
"""A stand-in for the service manager's notification socket, and the check
of what a daemon told it.

  notifylisten.py listen ADDRESS LOG SECONDS
      bind a SOCK_DGRAM AF_UNIX socket at ADDRESS (a path, or @name for the
      abstract namespace) and append every datagram to LOG as one JSON
      object a line: {"mono_us": receive time on CLOCK_MONOTONIC, "msg":
      the datagram's text}; prints "listening" once bound; exits after
      SECONDS at the latest
  notifylisten.py check LOG [options]
      check the messages against the notify protocol as SPEC section 6
      asks it of nfflowd (see cmd_check)
"""

import argparse
import json
import os
import re
import socket
import sys
import time


# The conntrack socket for systemd's fd store (its descriptor is attached).
FDSTORE = "FDSTORE=1\nFDNAME=conntrack\nFDPOLL=0"


def mono_us():
    """CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC is given."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def listen(address, log, seconds):
    """Receive datagrams until SECONDS have passed."""
    deadline = time.monotonic() + float(seconds)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if address.startswith("@"):
        s.bind("\0" + address[1:])
    else:
        if os.path.exists(address):
            os.unlink(address)
        s.bind(address)
    out = open(log, "a", encoding="utf-8", buffering=1)
    print("listening", flush=True)
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        out.write(json.dumps({"mono_us": mono_us(),
                              "msg": data.decode("utf-8", "replace")}) + "\n")
    out.close()
    s.close()
    if not address.startswith("@"):
        os.unlink(address)
    return 0


STATUS_RE = re.compile(r"^live (\d+), events new (\d+) destroy (\d+), "
                       r"records (\d+), datagrams (\d+)")
RELOADING_RE = re.compile(r"^RELOADING=1\nMONOTONIC_USEC=(\d+)$")


def read_log(path):
    """The logged messages, in arrival order."""
    msgs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                msgs.append(json.loads(line))
    return msgs


def gaps(times):
    """Seconds between consecutive microsecond times."""
    return [(b - a) / 1e6 for a, b in zip(times, times[1:])]


def cmd_check(a):
    """The conntrack socket handed to the fd store once, before READY=1;
    READY=1 first of the rest, then (RELOADING=1 with a plausible
    MONOTONIC_USEC, READY=1) for every reload, STOPPING=1 last; STATUS= one
    line of counters every 5 s, refreshed; WATCHDOG=1 every half
    WATCHDOG_USEC, or none at all."""
    errors = []
    msgs = read_log(a.log)
    print("%d notifications:" % len(msgs))
    t0 = msgs[0]["mono_us"] if msgs else 0
    for m in msgs:
        print("  %+8.3f s  %r" % ((m["mono_us"] - t0) / 1e6, m["msg"]))
    if not msgs:
        print("FAIL: no notification arrived")
        return 1
    life, status, watchdog, fdstore = [], [], [], []
    for m in msgs:
        text = m["msg"]
        if text == FDSTORE:
            fdstore.append(m)
        elif text == "WATCHDOG=1":
            watchdog.append(m)
        elif text.startswith("STATUS="):
            status.append(m)
        elif text in ("READY=1", "STOPPING=1") or RELOADING_RE.match(text):
            life.append(m)
        else:
            errors.append("unexpected notification %r" % text)
    if len(fdstore) != 1 or msgs[0]["msg"] != FDSTORE:
        errors.append("%d FDSTORE=1 notifications (the first is %r), "
                      "expected one, first" % (len(fdstore), msgs[0]["msg"]))
    rest = [m for m in msgs if m["msg"] != FDSTORE]
    if not rest or rest[0]["msg"] != "READY=1":
        errors.append("the first notification after FDSTORE=1 is %r, not "
                      "READY=1" % (rest[0]["msg"] if rest else None))
    if msgs[-1]["msg"] != "STOPPING=1":
        errors.append("the last notification is %r, not STOPPING=1"
                      % msgs[-1]["msg"])
    # The life-cycle messages alone: READY, (RELOADING, READY) * n, STOPPING.
    want = ["READY"] + ["RELOADING", "READY"] * a.reloads + ["STOPPING"]
    got = [m["msg"].split("=")[0] for m in life]
    if got != want:
        errors.append("life-cycle notifications %s, expected %s"
                      % (got, want))
    for m in life:
        r = RELOADING_RE.match(m["msg"])
        if not r:
            continue
        lag = m["mono_us"] - int(r.group(1))
        print("RELOADING: MONOTONIC_USEC %s, received %d us later"
              % (r.group(1), lag))
        # The daemon reads the clock just before sending: the value lies
        # shortly before the arrival on the same clock.
        if not 0 <= lag <= 1000000:
            errors.append("MONOTONIC_USEC=%s is %d us from CLOCK_MONOTONIC "
                          "at arrival (%d)" % (r.group(1), lag, m["mono_us"]))
    # STATUS: one line of counters, first with READY, then every 5 s.
    if len(status) < a.status_min:
        errors.append("%d STATUS= notifications, expected at least %d"
                      % (len(status), a.status_min))
    news = []
    for m in status:
        text = m["msg"][len("STATUS="):]
        r = STATUS_RE.match(text)
        if "\n" in text or not r:
            errors.append("STATUS= is not one line of counters: %r" % text)
            continue
        news.append(int(r.group(2)))
    for g in gaps([m["mono_us"] for m in status]):
        if not 4.0 <= g <= 6.5:
            errors.append("STATUS= refreshed after %.2f s, expected 5 s" % g)
    if a.status_grows and (len(news) < 2 or news[-1] <= news[0]):
        errors.append("STATUS= counters did not follow the traffic: events "
                      "new %s" % news)
    # WATCHDOG=1 every WATCHDOG_USEC / 2, from READY until STOPPING.
    if a.watchdog_usec:
        half = a.watchdog_usec / 2e6
        span = (msgs[-1]["mono_us"] - msgs[0]["mono_us"]) / 1e6
        want_n = int(span / half) - 1
        print("WATCHDOG=1: %d in %.1f s (half interval %.2f s)"
              % (len(watchdog), span, half))
        if len(watchdog) < max(1, want_n):
            errors.append("%d WATCHDOG=1 in %.1f s, expected at least %d"
                          % (len(watchdog), span, max(1, want_n)))
        times = [msgs[0]["mono_us"]] + [m["mono_us"] for m in watchdog]
        for g in gaps(times):
            if not 0.6 * half <= g <= 1.4 * half:
                errors.append("WATCHDOG=1 after %.2f s, expected every "
                              "%.2f s" % (g, half))
                break
    elif watchdog:
        errors.append("%d WATCHDOG=1 though no watchdog applies to this "
                      "process" % len(watchdog))
    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print("ok: %d notifications as the protocol wants them" % len(msgs))
    return 1 if errors else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "listen":
        return listen(*sys.argv[2:5])
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("log")
    p.add_argument("--reloads", type=int, default=0,
                   help="number of SIGHUPs the daemon got")
    p.add_argument("--status-min", type=int, default=1)
    p.add_argument("--status-grows", action="store_true",
                   help="traffic was made between the first and last STATUS")
    p.add_argument("--watchdog-usec", type=int, default=0,
                   help="WATCHDOG_USEC, if it applied to the daemon")
    a = ap.parse_args()
    return cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
