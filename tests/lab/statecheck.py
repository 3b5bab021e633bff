#!/usr/bin/python3
"""Checks of `nfflowd --dump-state` output against connections the lab
holds open.

  statecheck.py entries JSON HUMAN --snat LANPORT NATPORT --dnat WANPORT
                --source dump|event
      JSON is `--dump-state --json`, HUMAN the plain `--dump-state`.  Both
      must list the masqueraded connection 192.0.2.2:LANPORT ->
      198.51.100.2:80 (left the firewall from 198.51.100.1:NATPORT) and
      the port forward 198.51.100.2:WANPORT -> 198.51.100.1:8080 (to
      192.0.2.2:80), each once, TCP, with conntrack's original and reply
      tuples, "nat" snat / dnat and the given "source".  The TCP state
      each form shows is printed as "state NAME JSON_STATE HUMAN_STATE"
      (masquerade, forward), for the caller to judge.
  statecheck.py counters JSON
      prints the counters as NAME=VALUE lines (nested ones as A_B), and
      entries=N: the number of entries listed
"""

import json
import re
import sys

LAN = "192.0.2.2"
FW_WAN = "198.51.100.1"
WAN = "198.51.100.2"


def tup(src, sport, dst, dport):
    """A TCP/UDP tuple as the dump writes it."""
    return {"src": src, "sport": sport, "dst": dst, "dport": dport}


def check_entries(path, human_path, lan_port, nat_port, wan_port, source):
    """See the module doc."""
    errors = []
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = doc["entries"]
    if doc.get("entries_count") != len(entries):
        errors.append("entries_count %s, %d entries listed"
                      % (doc.get("entries_count"), len(entries)))
    want = [
        ("masquerade", "snat", tup(LAN, lan_port, WAN, 80),
         tup(WAN, 80, FW_WAN, nat_port)),
        ("port forward", "dnat", tup(WAN, wan_port, FW_WAN, 8080),
         tup(LAN, 80, WAN, wan_port)),
    ]
    states = {}
    for name, nat, orig, reply in want:
        hits = [e for e in entries if e.get("orig") == orig]
        if len(hits) != 1:
            errors.append("%s: %d entries with orig %s" % (name, len(hits),
                                                          orig))
            continue
        e = hits[0]
        print("%s: %s" % (name, json.dumps(e, sort_keys=True)))
        states[name] = e.get("state")
        for key, val in (("proto", "tcp"), ("nat", nat),
                         ("reply", reply), ("source", source)):
            if e.get(key) != val:
                errors.append("%s: %s is %r, expected %r"
                              % (name, key, e.get(key), val))
        if not isinstance(e.get("id"), int) or not isinstance(e.get("age"),
                                                                int):
            errors.append("%s: id and age must be integers" % name)
    with open(human_path, encoding="utf-8") as f:
        human = f.read()
    rows = [
        ("masquerade", r"^tcp +%s:%d -> %s:80 +%s:%d -> %s:80 +\S+ +"
         r"(\S+)$" % (LAN, lan_port, WAN, FW_WAN, nat_port, WAN)),
        ("port forward", r"^tcp +%s:%d -> %s:8080 +%s:%d -> %s:80 +\S+ +"
         r"(\S+)$" % (WAN, wan_port, FW_WAN, WAN, wan_port, LAN)),
    ]
    for name, rx in rows:
        found = re.findall(rx.replace(".", r"\."), human, re.M)
        if len(found) != 1:
            errors.append("the human dump shows the %s %d times (pattern "
                          "%s)" % (name, len(found), rx))
        print("state %s %s %s" % (name.split()[-1], states.get(name),
                                  found[0] if len(found) == 1 else None))
    m = re.search(r"^(\d+) live connections?$", human, re.M)
    if not m or int(m.group(1)) != len(entries):
        errors.append("the human dump's count line %r, the JSON has %d "
                      "entries" % (m.group(0) if m else None, len(entries)))
    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print("ok: both connections listed with their tuples and NAT, in "
              "both forms")
    return 1 if errors else 0


def counters(path):
    """See the module doc."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for k, v in sorted(doc["counters"].items()):
        if isinstance(v, dict):
            for k2, v2 in sorted(v.items()):
                print("%s_%s=%s" % (k, k2, v2))
        else:
            print("%s=%s" % (k, v))
    print("entries=%d" % len(doc["entries"]))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "counters":
        return counters(argv[2])
    if len(argv) == 11 and argv[1] == "entries" and argv[4] == "--snat" \
            and argv[7] == "--dnat" and argv[9] == "--source":
        return check_entries(argv[2], argv[3], int(argv[5]), int(argv[6]),
                             int(argv[8]), argv[10])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
