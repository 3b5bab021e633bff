#!/usr/bin/python3
"""Tiny traffic peers for the nfflowd lab (servers exit on their own)."""

import socket
import sys
import time

LIFETIME = 600.0  # a server left behind never outlives this many seconds
TIMEOUT = 3.0


def tcp_server(host, port):
    """Accept connections; read one line, answer it, close."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(16)
    deadline = time.monotonic() + LIFETIME
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        c.settimeout(TIMEOUT)
        data = b""
        try:
            while not data.endswith(b"\n") and len(data) < 4096:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.sendall(b"answer:" + data)
        except OSError:
            pass
        c.close()


def tcp_client(host, port, text):
    """Send one line, read the answer until the server closes."""
    c = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    c.sendall(text.encode() + b"\n")
    got = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    c.close()
    if not got.startswith(b"answer:"):
        sys.exit("tcp-client: bad answer %r" % got)


def udp_server(host, port, echo):
    """Receive datagrams; echo them back or drop them."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
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
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
        sys.exit("usage: peer.py tcp-server|tcp-client|udp-echo|udp-sink|"
                 "udp-client|udp-send HOST PORT [TEXT]")
    cmd, host, port = argv[1:4]
    text = argv[4] if len(argv) > 4 else "hello"
    if cmd == "tcp-server":
        tcp_server(host, port)
    elif cmd == "tcp-client":
        tcp_client(host, port, text)
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
