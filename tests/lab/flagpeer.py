#!/usr/bin/python3
"""TCP clients that end a connection in the ways the TCP flags test needs
(tests/integration/tcp_flags.sh), against peer.py's chat-server or nothing.
Every socket operation has a timeout; each client exits 0 when the
connection went the way it should, else with a message.

  flagpeer.py rst-client HOST PORT       one chat round, then a close with
                                         SO_LINGER 0: the kernel sends RST
  flagpeer.py syn-client HOST PORT SECS  a connect nobody answers: SYNs only,
                                         given up after SECS
  flagpeer.py refused-client HOST PORT   a connect answered by RST
"""

import os
import socket
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import TIMEOUT, recv_exact  # noqa: E402  pylint: disable=wrong-import-position


def rst_client(host, port):
    """Send one chat request (100 bytes up, 200 down), read the answer, then
    close with a zero linger time, which resets the connection."""
    c = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    c.sendall(b"100 200\n" + b"u" * 100)
    if len(recv_exact(c, 200)) != 200:
        sys.exit("rst-client: the server closed before answering")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    print("reset")


def syn_client(host, port, secs):
    """Connect where the SYN is dropped; give up after secs seconds."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(float(secs))
    try:
        c.connect((host, int(port)))
    except socket.timeout:
        c.close()
        print("no answer")
        return
    except OSError as e:
        sys.exit("syn-client: connect failed otherwise: %s" % e)
    sys.exit("syn-client: the connection was answered")


def refused_client(host, port):
    """Connect to a port nothing listens on: refused by a RST."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(TIMEOUT)
    try:
        c.connect((host, int(port)))
    except ConnectionRefusedError:
        c.close()
        print("refused")
        return
    except OSError as e:
        sys.exit("refused-client: connect failed otherwise: %s" % e)
    sys.exit("refused-client: the connection was accepted")


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    cmd, host, port = argv[1:4]
    if cmd == "rst-client":
        rst_client(host, port)
    elif cmd == "syn-client" and len(argv) == 5:
        syn_client(host, port, argv[4])
    elif cmd == "refused-client":
        refused_client(host, port)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
