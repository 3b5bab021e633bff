#!/usr/bin/python3
"""The NetFlow v5 datagrams of a capture, in capture order, as tshark
decodes them, checked across a collector switch.

  v5seq.py FIELDS --ports OLD NEW --source ADDR [--records N]

FIELDS holds the lines of
  tshark -r CAP -d udp.port==OLD,cflow -d udp.port==NEW,cflow -T fields
      -E separator='|' -e frame.number -e ip.src -e udp.dstport
      -e cflow.count -e cflow.sequence
Checks: every datagram comes from ADDR and goes to OLD or NEW; all those to
OLD precede all those to NEW (the switch is a cut, none go back); each
datagram's flow_sequence is the previous one's plus its count, from 0 (the
sequence continues across the switch: the first at NEW carries the number
of records sent to OLD); both ports got some; with --records, the counts
add up to N.  Prints "old=R1 new=R2" record totals.
"""

import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("fields")
    ap.add_argument("--ports", type=int, nargs=2, required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--records", type=int)
    a = ap.parse_args()
    old, new = a.ports
    errors = []
    dgrams = []
    with open(a.fields, encoding="utf-8") as f:
        for line in f:
            p = line.strip().split("|")
            if len(p) < 5 or not p[3]:
                continue
            dgrams.append((int(p[0]), p[1], int(p[2]), int(p[3]), int(p[4])))
    expect_seq = 0
    totals = {old: 0, new: 0}
    switched_at = None
    for frame, src, port, count, seq in dgrams:
        if src != a.source:
            errors.append("frame %d comes from %s, not %s"
                          % (frame, src, a.source))
        if port not in totals:
            errors.append("frame %d goes to port %d" % (frame, port))
            continue
        if port == new and switched_at is None:
            switched_at = frame
            print("first datagram to port %d: frame %d, flow_sequence %d, "
                  "after %d records to port %d"
                  % (new, frame, seq, totals[old], old))
        if port == old and switched_at is not None:
            errors.append("frame %d goes to the old port %d after frame %d "
                          "went to the new one" % (frame, old, switched_at))
        if seq != expect_seq:
            errors.append("frame %d (port %d): flow_sequence %d, expected %d"
                          % (frame, port, seq, expect_seq))
        expect_seq = seq + count
        totals[port] += count
    print("%d datagrams; old=%d new=%d records"
          % (len(dgrams), totals[old], totals[new]))
    if totals[old] == 0 or totals[new] == 0:
        errors.append("a collector got no records: %s" % totals)
    if a.records is not None and sum(totals.values()) != a.records:
        errors.append("the datagrams carry %d records, expected %d"
                      % (sum(totals.values()), a.records))
    for e in errors[:20]:
        print("FAIL: " + e)
    if not errors:
        print("ok: one cut from port %d to %d, flow_sequence continuous"
              % (old, new))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
