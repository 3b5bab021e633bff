#!/usr/bin/python3
"""Raw-socket peers of the nfflowd lab for protocols without a socket type
of their own: GRE (47), ESP (50) and SCTP (132), IPv4 only.  Neither side
needs the kernel to implement the protocol (this one may have no GRE
tunnel, IPsec or SCTP support at all): conntrack on the firewall tracks
what passes, which is all the lab needs.  Every wait is bounded.

  protopeer.py echo PROTO HOST SECONDS
      answer each GRE or ESP packet to HOST with one of the same protocol
      (SCTP: an INIT with an INIT-ACK) until SECONDS have passed
  protopeer.py send KIND HOST COUNT
      send COUNT packets of KIND to HOST, each waiting (at most 2 s) for
      its answer unless KIND gets none; print "answers N"

KIND is gre (version 0, no keys, answered), gre-key (version 1 with the
PPTP call id 0x1234, as a PPTP client sends; not answered: without the
PPTP helper a reply cannot match the entry's keys), esp (answered) or
sctp (one INIT answered by an INIT-ACK; COUNT must be 1).
"""

import select
import socket
import struct
import sys
import time

PROTO = {"gre": 47, "gre-key": 47, "esp": 50, "sctp": 132}
ANSWERED = {"gre": True, "gre-key": False, "esp": True, "sctp": True}
WAIT = 2.0
GRE_CALL_ID = 0x1234
SCTP_SPORT, SCTP_DPORT = 40000, 5060


def crc32c(data):
    """CRC32c (Castagnoli), the SCTP checksum (RFC 3309)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def sctp_packet(sport, dport, vtag, chunk_type, init_tag):
    """An SCTP packet with one INIT (1) or INIT-ACK (2) chunk (RFC 9260
    3.3.2): init tag, a_rwnd, 1 outbound and 1 inbound stream, initial
    TSN; the checksum over the whole packet, stored little-endian."""
    chunk = struct.pack("!BBHIIHHI", chunk_type, 0, 20, init_tag, 65536,
                        1, 1, init_tag)
    pkt = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def raw(proto):
    """A raw IPv4 socket of protocol proto (the kernel adds the IP
    header; received packets come with theirs)."""
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)


def payload(kind, i):
    """The i-th packet of kind, as the client sends it."""
    body = b"nfflowd-lab-%d-" % i + b"x" * (40 + 8 * i)
    if kind == "gre":
        return struct.pack("!HH", 0, 0x0800) + body
    if kind == "gre-key":
        # K bit and version 1, PPP (0x880b), payload length, call id
        return struct.pack("!HHHH", 0x2001, 0x880B, len(body),
                           GRE_CALL_ID) + body
    if kind == "esp":
        return struct.pack("!II", 0x1000, i + 1) + body
    return sctp_packet(SCTP_SPORT, SCTP_DPORT, 0, 1, 0x0A0B0C0D)


def answer(proto, data):
    """The answer to one received packet (IP header included), or None."""
    ihl = (data[0] & 0x0F) * 4
    l4 = data[ihl:]
    if proto == 132:
        if len(l4) < 20 or l4[12] != 1:
            return None  # not an INIT
        sport, dport = struct.unpack("!HH", l4[:4])
        init_tag = struct.unpack("!I", l4[16:20])[0]
        return sctp_packet(dport, sport, init_tag, 2, 0x01020304)
    if proto == 47:
        if len(l4) < 4 or l4[1] & 7:
            return None  # version 1: its reply could not match, see above
        return struct.pack("!HH", 0, 0x0800) + b"answer:" + l4[4:]
    return l4[:8] + b"answer:" + l4[8:]


def echo(proto, host, seconds):
    """Answers what arrives for host until seconds have passed."""
    s = raw(proto)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], deadline - time.monotonic())
        if not r:
            break
        data, (src, _) = s.recvfrom(65535)
        dst = socket.inet_ntoa(data[16:20])
        reply = answer(proto, data) if dst == host else None
        if reply is not None:
            s.sendto(reply, (src, 0))
            n += 1
            print("answered %s (%d)" % (src, n), flush=True)


def send(kind, host, count):
    """Sends count packets of kind to host; returns the answers seen."""
    proto = PROTO[kind]
    s = raw(proto)
    got = 0
    for i in range(count):
        s.sendto(payload(kind, i), (host, 0))
        if not ANSWERED[kind]:
            time.sleep(0.05)
            continue
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], deadline - time.monotonic())
            if not r:
                break
            data, (src, _) = s.recvfrom(65535)
            if src == host:
                got += 1
                break
    return got


def main(argv):
    """Command line: see the module's docstring."""
    if len(argv) == 5 and argv[1] == "echo":
        echo(int(argv[2]), argv[3], float(argv[4]))
    elif len(argv) == 5 and argv[1] == "send" and argv[2] in PROTO:
        print("answers %d" % send(argv[2], argv[3], int(argv[4])))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
