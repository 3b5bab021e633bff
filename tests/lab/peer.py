#!/usr/bin/python3
"""Traffic peers of the nfflowd lab for IPv4 and IPv6 alike (the address
family follows the host: IPv6 when it has a colon), and a long-lived TCP
conversation in bounded bursts (active timeout tests).  Servers exit on
their own after LIFETIME seconds; every socket operation has a timeout.

  peer.py tcp-server|udp-echo|udp-sink HOST PORT
  peer.py tcp-client|udp-client|udp-send HOST PORT [TEXT]
  peer.py chat-server HOST PORT
  peer.py chat-client HOST PORT SECONDS INTERVAL UP DOWN [TRIGGER [LAST]]

A tcp-server reads one line, answers it with "answer:" and the line, and
closes; a udp-echo server answers each datagram the same way.  A chat
client talks for SECONDS: every INTERVAL seconds it sends UP bytes and the
server answers with DOWN bytes; then the client closes.  With TRIGGER it
prints "paused" after the talk and waits (at most 60 s) until the file
TRIGGER exists; then it sends one last request of LAST bytes (if LAST > 0)
that gets no answer, prints the bytes that request put on the wire, and
closes.
"""

import os
import socket
import sys
import time

LIFETIME = 600.0  # a server left behind never outlives this many seconds
TIMEOUT = 3.0


def family_of(host):
    """AF_INET6 for an address with a colon, else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host, port, kind):
    """A socket of the host's family bound to host:port (TCP ones may
    rebind an address in TIME_WAIT)."""
    s = socket.socket(family_of(host), kind)
    if kind == socket.SOCK_STREAM:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    return s


def serve(s, handle):
    """Accept connections until LIFETIME passes; one at a time."""
    s.listen(16)
    deadline = time.monotonic() + LIFETIME
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        c.settimeout(TIMEOUT)
        try:
            handle(c)
        except OSError:
            pass
        c.close()


def answer_line(c):
    """Read one line, answer it (the tcp-server protocol)."""
    data = b""
    while not data.endswith(b"\n") and len(data) < 4096:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.sendall(b"answer:" + data)


def recv_exact(c, n):
    """Read exactly n bytes; b'' if the peer closed first."""
    got = b""
    while len(got) < n:
        chunk = c.recv(n - len(got))
        if not chunk:
            return b""
        got += chunk
    return got


def chat(c):
    """Each request is 'UP DOWN\\n' followed by UP bytes; answer DOWN bytes."""
    c.settimeout(30.0)
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = c.recv(4096)
            if not chunk:
                return
            buf += chunk
        head, _, buf = buf.partition(b"\n")
        up, down = (int(x) for x in head.split())
        need = up - len(buf)
        if need > 0:
            rest = recv_exact(c, need)
            if not rest:
                return
            buf += rest
        buf = buf[up:]
        c.sendall(b"d" * down)


def expect_answer(c, who):
    """Read until the server closes, close; exit naming `who` unless what
    came back is a tcp-server answer."""
    got = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    c.close()
    if not got.startswith(b"answer:"):
        sys.exit("%s: bad answer %r" % (who, got))


def tcp_client(host, port, text):
    """Send one line, read the answer until the server closes."""
    c = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    c.sendall(text.encode() + b"\n")
    expect_answer(c, "tcp-client")


def chat_client(host, port, seconds, interval, up, down, trigger=None,
                last="0"):
    """Talk in bursts for `seconds`, then close; print the rounds done.
    With a trigger: pause until it exists, send `last` bytes more (the
    request's header line included in what is printed), then close."""
    c = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    end = time.monotonic() + float(seconds)
    rounds = 0
    up, down = int(up), int(down)
    while time.monotonic() < end and rounds < 1000:
        c.sendall(b"%d %d\n" % (up, down) + b"u" * up)
        if len(recv_exact(c, down)) != down:
            sys.exit("chat-client: server closed after %d rounds" % rounds)
        rounds += 1
        time.sleep(float(interval))
    if trigger is not None:
        print("paused after %d rounds" % rounds, flush=True)
        deadline = time.monotonic() + 60.0
        while not os.path.exists(trigger):
            if time.monotonic() > deadline:
                sys.exit("chat-client: no trigger %s within 60 s" % trigger)
            time.sleep(0.05)
        if int(last) > 0:
            req = b"%d 0\n" % int(last) + b"u" * int(last)
            c.sendall(req)
            print("last request %d bytes" % len(req), flush=True)
    c.shutdown(socket.SHUT_WR)
    c.settimeout(TIMEOUT)
    if c.recv(1) != b"":
        sys.exit("chat-client: unexpected data at close")
    c.close()
    print("rounds %d" % rounds)


def udp_server(host, port, echo):
    """Receive datagrams; echo them back or drop them."""
    s = listener(host, port, socket.SOCK_DGRAM)
    deadline = time.monotonic() + LIFETIME
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        if echo:
            s.sendto(b"answer:" + data, peer)


def udp_client(host, port, text, want_answer):
    """Send one datagram and, if asked, wait for the answer."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.connect((host, int(port)))
    s.send(text.encode())
    if want_answer:
        got = s.recv(65535)
        if not got.startswith(b"answer:"):
            sys.exit("udp-client: bad answer %r" % got)
    s.close()


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    cmd, host, port = argv[1:4]
    rest = argv[4:]
    text = rest[0] if rest else "hello"
    if cmd == "tcp-server":
        serve(listener(host, port, socket.SOCK_STREAM), answer_line)
    elif cmd == "chat-server":
        serve(listener(host, port, socket.SOCK_STREAM), chat)
    elif cmd == "tcp-client":
        tcp_client(host, port, text)
    elif cmd == "chat-client":
        if len(rest) not in (4, 5, 6):
            sys.exit(__doc__)
        chat_client(host, port, *rest)
    elif cmd == "udp-echo":
        udp_server(host, port, True)
    elif cmd == "udp-sink":
        udp_server(host, port, False)
    elif cmd == "udp-client":
        udp_client(host, port, text, True)
    elif cmd == "udp-send":
        udp_client(host, port, text, False)
    else:
        sys.exit("peer.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
