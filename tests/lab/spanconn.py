#!/usr/bin/python3
"""Connections that span a daemon's restart, stop or upgrade, for the
systemd unit test (tests/integration/systemd_unit.sh): a client whose
traffic and end the test times with trigger files, and a server for many
of them at once.  IPv4 and IPv6 alike (IPv6 when the host has a colon).

  spanconn.py server HOST PROTO:PORT...
  spanconn.py client HOST PORT PROTO UP DOWN INTERVAL STEP...

PROTO is tcp or udp.  An exchange is one request of UP bytes (a header
line "UP DOWN" padded to UP bytes) answered with DOWN bytes; over UDP one
datagram each way.  The client runs the STEPs in order, then ends the
connection (TCP: shutdown, read the server's close, close):

  once         one exchange
  talk:FILE    exchanges every INTERVAL seconds until FILE exists
  wait:FILE    no traffic until FILE exists

It prints "local PORT" first, then one line per step done ("once 1",
"talk 12", "wait") and "closed" at the end, each flushed at once, so a
test can wait for a line.  A wait for a file lasts at most WAIT_MAX
seconds (then exit 1); every socket operation has a timeout; a server
exits on its own after LIFETIME seconds.
"""

import os
import socket
import sys
import threading
import time

from peer import recv_exact

LIFETIME = 600.0   # a server left behind never outlives this
WAIT_MAX = 120.0   # longest wait for a trigger file
TIMEOUT = 5.0      # one exchange
IDLE = WAIT_MAX + 10.0  # the server's patience between requests


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def request(up, down):
    head = b"%d %d\n" % (up, down)
    if up < len(head):
        sys.exit("spanconn: UP %d shorter than its header" % up)
    return head + b"u" * (up - len(head))


def serve_tcp_conn(c):
    """Answer requests until the client shuts down, then close."""
    c.settimeout(IDLE)
    buf = b""
    try:
        while True:
            while b"\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\n")
            up, down = (int(x) for x in head.split())
            need = up - len(head) - 1
            if len(buf) < need:
                rest = recv_exact(c, need - len(buf))
                if not rest:
                    return
                buf += rest
            buf = buf[need:]
            c.sendall(b"d" * down)
    except (OSError, ValueError):
        pass
    finally:
        c.close()


def serve_tcp(host, port):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(64)
    s.settimeout(1.0)
    while True:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve_tcp_conn, args=(c,), daemon=True).start()


def serve_udp(host, port):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        data, peer = s.recvfrom(65535)
        try:
            up, down = (int(x) for x in data.split(b"\n", 1)[0].split())
        except ValueError:
            continue
        s.sendto(b"d" * down, peer)


def server(host, specs):
    for spec in specs:
        proto, port = spec.split(":")
        fn = {"tcp": serve_tcp, "udp": serve_udp}[proto]
        threading.Thread(target=fn, args=(host, int(port)), daemon=True).start()
    time.sleep(LIFETIME)


def wait_file(path):
    deadline = time.monotonic() + WAIT_MAX
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit("spanconn: no %s within %d s" % (path, WAIT_MAX))
        time.sleep(0.05)


def say(text):
    print(text, flush=True)


def client(host, port, proto, up, down, interval, steps):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    c = socket.socket(family_of(host), kind)
    c.settimeout(TIMEOUT)
    c.connect((host, port))
    say("local %d" % c.getsockname()[1])
    req = request(up, down)

    def exchange():
        c.sendall(req) if proto == "tcp" else c.send(req)
        got = recv_exact(c, down) if proto == "tcp" else c.recv(65535)
        if len(got) != down:
            sys.exit("spanconn: answer of %d bytes, not %d" % (len(got), down))

    for step in steps:
        if step == "once":
            exchange()
            say("once 1")
        elif step.startswith("talk:"):
            rounds = 0
            while not os.path.exists(step[5:]):
                if rounds >= WAIT_MAX / max(interval, 0.01):
                    sys.exit("spanconn: no %s after %d rounds" % (step[5:], rounds))
                exchange()
                rounds += 1
                time.sleep(interval)
            say("talk %d" % rounds)
        elif step.startswith("wait:"):
            wait_file(step[5:])
            say("wait")
        else:
            sys.exit("spanconn: unknown step " + step)
    if proto == "tcp":
        c.shutdown(socket.SHUT_WR)
        if c.recv(1) != b"":
            sys.exit("spanconn: data at close")
    c.close()
    say("closed")


def main(argv):
    if len(argv) >= 4 and argv[1] == "server":
        server(argv[2], argv[3:])
    elif len(argv) >= 9 and argv[1] == "client":
        host, port, proto, up, down, interval = argv[2:8]
        if proto not in ("tcp", "udp"):
            sys.exit(__doc__)
        client(host, int(port), proto, int(up), int(down), float(interval),
               argv[8:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
