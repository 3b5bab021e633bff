#!/usr/bin/python3
"""Compare what a daemon sent to /dev/log with the record lines it printed.

  syslogcheck.py count-stdout FILE     number of CSV record lines in FILE
  syslogcheck.py count-log LOG         number of CSV messages in LOG
  syslogcheck.py check --log LOG --stdout FILE --pid PID [options]

LOG holds one JSON object a line, {"msg": datagram text}, as
notifylisten.py writes it.  A datagram is what glibc's syslog() sends over
/dev/log: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT".  A record line is the
flow-tools CSV of SPEC section 5 (18 fields).
"""

import argparse
import json
import re
import sys

LOG_DAEMON = 3
ADDR = r"[0-9A-Fa-f.:]+"
CSV_RE = re.compile(r"^\d+,\d+,\d+,%s,\d+,\d+,\d+,\d+,%s,%s,%s"
                    r",\d+,\d+,\d+,\d+,\d+,\d+,\d+$" % (ADDR, ADDR, ADDR, ADDR))
MSG_RE = re.compile(r"^<(\d{1,3})>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) "
                    r"([^\s\[\]:]+)\[(\d+)\]: (.*)$", re.S)


def read_log(path):
    """The datagrams' texts, in arrival order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["msg"] for line in f if line.strip()]


def stdout_lines(path):
    """The lines of the daemon's standard output."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def is_csv(text):
    """Whether text is one record line."""
    return CSV_RE.match(text) is not None


def parse(msgs, errors):
    """Split each datagram into (facility, severity, ident, pid, text)."""
    out = []
    for m in msgs:
        r = MSG_RE.match(m)
        if not r:
            errors.append("not a syslog datagram: %r" % m)
            continue
        pri = int(r.group(1))
        out.append((pri >> 3, pri & 7, r.group(3), int(r.group(4)),
                    r.group(5)))
    return out


def segment(s):
    """COUNT:FACILITY:SEVERITY:IDENT."""
    n, fac, sev, ident = s.split(":", 3)
    return int(n), int(fac), int(sev), ident


def cmd_check(a):
    """Every record line of stdout, in order, is one syslog message with the
    facility, severity and ident of its segment and the identical text,
    except the last --unlogged ones, which are not in syslog at all;
    diagnostics are daemon facility and never record lines."""
    errors = []
    msgs = parse(read_log(a.log), errors)
    out = stdout_lines(a.stdout)
    csv_out = [line for line in out if is_csv(line)]
    for line in out:
        if not is_csv(line) and not any(re.match(p, line)
                                        for p in a.stdout_other):
            errors.append("stdout line that is no record: %r" % line)
    records = [m for m in msgs if is_csv(m[4])]
    diags = [m for m in msgs if not is_csv(m[4])]
    segs = [segment(s) for s in a.segment]
    logged = sum(s[0] for s in segs)
    print("%d datagrams: %d record lines, %d diagnostics; stdout: %d record "
          "lines; segments %s, %d unlogged expected"
          % (len(msgs), len(records), len(diags), len(csv_out),
             a.segment, a.unlogged))
    for fac, sev, ident, pid, text in msgs:
        if pid != a.pid:
            errors.append("message from pid %d, not the daemon's %d: %r"
                          % (pid, a.pid, text))
        if "\n" in text:
            errors.append("message of more than one line: %r" % text)
    for s in segs:
        if s[0] < 1:
            errors.append("segment %s holds no record: the test made no "
                          "traffic there" % (s,))
    if len(csv_out) != logged + a.unlogged:
        errors.append("stdout has %d record lines, expected %d logged + %d "
                      "unlogged" % (len(csv_out), logged, a.unlogged))
    if a.unlogged_min and a.unlogged < a.unlogged_min:
        errors.append("only %d record lines after syslog was switched off"
                      % a.unlogged)
    # The record stream: identical texts in the same order.
    if [m[4] for m in records] != csv_out[:logged]:
        errors.append("the syslog record lines differ from the first %d "
                      "stdout lines" % logged)
        for i in range(max(len(records), logged)):
            got = records[i][4] if i < len(records) else None
            want = csv_out[i] if i < len(csv_out) else None
            if got != want:
                errors.append("  #%d syslog %r, stdout %r" % (i, got, want))
    i = 0
    for n, fac, sev, ident in segs:
        for m in records[i:i + n]:
            if (m[0], m[1], m[2]) != (fac, sev, ident):
                errors.append("record with facility %d severity %d ident %r, "
                              "expected %d %d %r: %r"
                              % (m[0], m[1], m[2], fac, sev, ident, m[4]))
        i += n
    for m in records:
        if m[0] == LOG_DAEMON:
            errors.append("record line with the daemon facility: %r" % (m,))
    for m in diags:
        if m[0] != LOG_DAEMON:
            errors.append("non-record text with facility %d: %r" % (m[0], m))
        if a.diag_ident and m[2] not in a.diag_ident:
            errors.append("diagnostic with ident %r, expected one of %s: %r"
                          % (m[2], a.diag_ident, m[4]))
    for pattern in a.expect_diag:
        if not any(re.search(pattern, m[4]) for m in diags):
            errors.append("no diagnostic matches %r" % pattern)
    for e in errors:
        print("FAIL: " + e)
    if errors:
        print("----- the datagrams -----")
        for m in read_log(a.log)[:80]:
            print("  " + m)
        return 1
    print("ok: syslog carries exactly the record lines of stdout, as "
          "configured, and keeps diagnostics apart")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("count-stdout")
    p.add_argument("file")
    p = sub.add_parser("count-log")
    p.add_argument("log")
    p = sub.add_parser("check")
    p.add_argument("--log", required=True)
    p.add_argument("--stdout", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--segment", action="append", default=[],
                   help="COUNT:FACILITY:SEVERITY:IDENT, in order")
    p.add_argument("--unlogged", type=int, default=0,
                   help="record lines at the end of stdout not in syslog")
    p.add_argument("--unlogged-min", type=int, default=0)
    p.add_argument("--diag-ident", action="append", default=[])
    p.add_argument("--expect-diag", action="append", default=[],
                   help="a regex some diagnostic must match")
    p.add_argument("--stdout-other", action="append", default=[],
                   help="a regex a non-record stdout line may match")
    a = ap.parse_args()
    if a.cmd == "count-stdout":
        print(sum(1 for line in stdout_lines(a.file) if is_csv(line)))
        return 0
    if a.cmd == "count-log":
        print(sum(1 for m in read_log(a.log)
                  if (r := MSG_RE.match(m)) and is_csv(r.group(5))))
        return 0
    return cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
