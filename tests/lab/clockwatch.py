#!/usr/bin/python3
"""How far the wall clock moves against the boot clock while a test runs.

  clockwatch.py OUT SECONDS

Samples CLOCK_REALTIME - CLOCK_BOOTTIME every 10 ms until SIGTERM or
SECONDS have passed, then writes the range of that offset, in whole ms
rounded up, to OUT.  A v5 record's times are boot-clock milliseconds that
a collector turns into wall time by each datagram's header, so two records
that meet exactly on the boot clock are that range apart on the collector
when the wall clock is stepped or slewed apart from the boot clock
meanwhile (a time-sync agent on a virtual machine does so).  Each sample
reads the boot clock on both sides of the wall clock and is kept only when
the two reads are close, so being descheduled between reads is not
mistaken for a clock step.
"""

import math
import signal
import sys
import time

PERIOD = 0.01
TIGHT_NS = 200000  # a sample whose boot reads are further apart is retried


def offset_ns():
    """Wall minus boot clock, from the tightest of up to 5 bracketed reads."""
    best = None
    for _ in range(5):
        b1 = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        r = time.clock_gettime_ns(time.CLOCK_REALTIME)
        b2 = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        if best is None or b2 - b1 < best[0]:
            best = (b2 - b1, r - (b1 + b2) // 2)
        if best[0] <= TIGHT_NS:
            break
    return best[1]


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    out, seconds = argv[1], float(argv[2])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    lo = hi = offset_ns()
    end = time.monotonic() + seconds
    while not stop and time.monotonic() < end:
        time.sleep(PERIOD)
        o = offset_ns()
        lo, hi = min(lo, o), max(hi, o)
    with open(out, "w") as f:
        f.write("%d\n" % math.ceil((hi - lo) / 1e6))


if __name__ == "__main__":
    main(sys.argv)
