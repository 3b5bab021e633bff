#!/usr/bin/python3
"""The record lines of one connection in what a system logger kept, for the
systemd unit test (tests/integration/systemd_unit.sh).

  reclines.py journal SRC DST DPORT [FACILITY]   < journalctl -o json
  reclines.py syslog SRC DST DPORT               < /var/log/syslog

Looks for the flow-tools CSV lines (README "Local copy of each record", 18
fields: ...,dpkts,doctets,first,last,srcaddr,dstaddr,...,srcport,dstport,
prot,...) of records from SRC to DST port DPORT that carry counters (dpkts
and doctets above 0):
  journal  entries of `journalctl -o json`, one a line: the MESSAGE, and
           SYSLOG_IDENTIFIER nfflowd and, when FACILITY is given,
           SYSLOG_FACILITY equal to it (local6 is 22);
  syslog   lines of a file in rsyslog's traditional format
           ("Mmm dd hh:mm:ss host nfflowd[pid]: CSV").
Prints each such line (with the journal's fields), and exits 0 when there
is one, 1 when not (then it says what it found of the connection).
"""

import json
import re
import sys


def record(text):
    """The CSV fields of a record line, or None."""
    fields = text.strip().split(",")
    if len(fields) != 18 or not all(re.fullmatch(r"[0-9.]+", f) for f in fields):
        return None
    return fields


def main(argv):
    if len(argv) < 5 or argv[1] not in ("journal", "syslog"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    mode, src, dst, dport = argv[1:5]
    facility = argv[5] if len(argv) > 5 else None
    found, near = [], []
    for line in sys.stdin:
        if mode == "journal":
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            msg = entry.get("MESSAGE")
            if not isinstance(msg, str):
                continue
            where = "SYSLOG_IDENTIFIER=%s SYSLOG_FACILITY=%s PRIORITY=%s _PID=%s" % (
                entry.get("SYSLOG_IDENTIFIER"), entry.get("SYSLOG_FACILITY"),
                entry.get("PRIORITY"), entry.get("_PID"))
            proper = entry.get("SYSLOG_IDENTIFIER") == "nfflowd" and (
                facility is None or entry.get("SYSLOG_FACILITY") == facility)
        else:
            m = re.match(r".*? nfflowd\[\d+\]: (.*)$", line.rstrip("\n"))
            if not m:
                continue
            msg, where, proper = m.group(1), line.strip(), True
        f = record(msg)
        if f is None or f[8] != src or f[9] != dst or f[14] != dport:
            continue
        if proper and int(f[4]) > 0 and int(f[5]) > 0:
            found.append("%s | %s" % (msg.strip(), where) if mode == "journal" else where)
        else:
            near.append("%s | %s" % (msg.strip(), where))
    for text in found:
        print("record line: " + text)
    if not found:
        print("no record line of %s -> %s:%s with counters%s; of that connection: %s" % (
            src, dst, dport, " and facility " + facility if facility else "",
            "; ".join(near) or "none"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
