#!/usr/bin/python3
"""A NetFlow v5 collector for the benchmarks that reads the way a
collector on another machine looks from the exporter: it never waits on
its socket. It drains the socket, then sleeps PAUSE seconds (default
0.004) and drains again, so the exporter's sends only queue datagrams;
they never wake it, and so never make the kernel switch the exporter out
for it (a collector blocked in recv() on the same CPUs is woken by every
send and, woken on the sender's CPU, preempts it: bench/RESULTS.md,
section 8).

It checks what it receives: each datagram must be a whole v5 datagram
(version 5, 24 + 48 * count bytes, count 1..30) and continue the
exporter's flow_sequence (the records before it) with no gap and no
repeat. It counts records, and records of an original direction lan ->
wan:80 (source 192.0.2.0/24, destination port 80): one per connection.

  v5sink.py ADDR PORT OUTFILE SECONDS [PAUSE]

OUTFILE is rewritten (atomically) every 0.1 s while datagrams come, and
at the end: "datagrams=N records=N conns_seen=N bad=N gaps=N repeats=N
first_seq=N next_seq=N". Exits after SECONDS, or on SIGTERM/SIGINT.
"""

import errno
import os
import signal
import socket
import struct
import sys
import time

SO_RCVBUFFORCE = 33
LAN_NET = 0xC0000200  # 192.0.2.0/24


def main():
    addr, port, out, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.004
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((addr, port))
    s.setblocking(False)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    st = dict(datagrams=0, records=0, conns_seen=0, bad=0, gaps=0,
              repeats=0, first_seq=-1, next_seq=-1)

    def write():
        with open(out + ".tmp", "w", encoding="ascii") as f:
            f.write(" ".join("%s=%d" % kv for kv in st.items()) + "\n")
        os.replace(out + ".tmp", out)

    def take(b):
        st["datagrams"] += 1
        if len(b) < 24:
            st["bad"] += 1
            return
        version, count = struct.unpack_from("!HH", b, 0)
        seq = struct.unpack_from("!I", b, 16)[0]
        if version != 5 or not 1 <= count <= 30 or len(b) != 24 + 48 * count:
            st["bad"] += 1
            return
        if st["first_seq"] < 0:
            st["first_seq"] = seq
        elif seq != st["next_seq"]:
            # sequence numbers are 32 bits: behind the expected one means
            # records seen again, ahead means records missing
            if (st["next_seq"] - seq) % (1 << 32) < (1 << 31):
                st["repeats"] += 1
            else:
                st["gaps"] += 1
        st["next_seq"] = (seq + count) % (1 << 32)
        st["records"] += count
        for i in range(count):
            off = 24 + 48 * i
            src = struct.unpack_from("!I", b, off)[0]
            dport = struct.unpack_from("!H", b, off + 34)[0]
            if src & 0xFFFFFF00 == LAN_NET and dport == 80:
                st["conns_seen"] += 1

    end = time.monotonic() + seconds
    last = 0.0
    write()
    while not stop and time.monotonic() < end:
        got = 0
        while True:
            try:
                b = s.recv(65536)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                if e.errno == errno.EINTR:
                    continue
                raise
            take(b)
            got += 1
        now = time.monotonic()
        if got and now - last >= 0.1:
            write()
            last = now
        time.sleep(pause)
    while True:  # what came before the stop
        try:
            take(s.recv(65536))
        except OSError:
            break
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
