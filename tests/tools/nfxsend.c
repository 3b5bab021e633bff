/* Sends a few NetFlow v9 or IPFIX messages built by the nfx encoder to a
 * collector on 127.0.0.1, and prints the records they carry, one line
 * each, for the test to compare with what the collector decoded:
 *   proto src sport dst dport xsrc xsport xdst xdport packets octets
 *   start_ms end_ms in_if out_if nexthop direction template_id
 *   tcp_flags end_reason zone
 * (ICMP: ports 0 and dport type.code, as collectors show them); a NAT
 * session event as
 *   #nat msg event proto src sport dst dport xsrc xsport xdst xdport
 *   start_ms event_ms zone template_id
 * (ICMP: the id in both source ports, destination ports 0); the options
 * data of a template message as "#opt msg sampling DOMAIN 1 1 0",
 * "#opt msg stats DOMAIN MESSAGES RECORDS OCTETS" and
 * "#opt msg if INDEX NAME DESCR".
 *   usage: nfxsend 9|10 PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nfflowd/nfx.h"

#define DOMAIN 4242
#define MAX_RECS 16

/* One connection to export, in conntrack's terms. */
struct conn_spec {
	int family;
	uint8_t proto;
	const char *os, *od, *rs, *rd;	/* orig and reply addresses */
	uint16_t osp, odp, rsp, rdp;
	uint64_t opk, oby, rpk, rby;
	uint32_t in_if, out_if;
	const char *nh, *rnh;		/* next hops, NULL: none */
	uint8_t reason, flags, rflags;	/* flowEndReason, TCP flags */
	uint32_t zone;
	uint8_t nat;			/* 0, or a NAT event of it: FLOW_KIND_ */
};

/* Message 1 (templates), 2 (data only) and 3 (interface templates). */
static const struct conn_spec msg1[] = {
	/* TCP SNAT: 192.0.2.10:40000 -> 198.51.100.20:443 as
	 * 203.0.113.1:61000 */
	{ AF_INET, IPPROTO_TCP, "192.0.2.10", "198.51.100.20",
	  "198.51.100.20", "203.0.113.1", 40000, 443, 443, 61000,
	  12, 1500, 10, 9000, 0, 0, NULL, NULL,
	  FLOW_END_DETECTED, 0x1b, 0x1b, 0, 0 },
	/* UDP DNAT over IPv6: [2001:db8::10]:50000 -> [2001:db8:1::20]:53
	 * forwarded to [2001:db8:ffff::1]:5353 */
	{ AF_INET6, IPPROTO_UDP, "2001:db8::10", "2001:db8:1::20",
	  "2001:db8:ffff::1", "2001:db8::10", 50000, 53, 5353, 50000,
	  1, 70, 1, 180, 0, 0, NULL, NULL, FLOW_END_IDLE, 0, 0, 3, 0 },
};
static const struct conn_spec msg2[] = {
	/* ICMP echo, SNAT */
	{ AF_INET, IPPROTO_ICMP, "192.0.2.11", "198.51.100.21",
	  "198.51.100.21", "203.0.113.2", 0x1234, 8 << 8, 0x1234, 0,
	  3, 252, 3, 252, 0, 0, NULL, NULL, FLOW_END_IDLE, 0, 0, 0,
	  FLOW_KIND_NAT_CREATE },
	/* unanswered UDP, DNAT: 203.0.113.50:5000 -> 203.0.113.1:5353
	 * forwarded to 192.0.2.53:53 */
	{ AF_INET, IPPROTO_UDP, "203.0.113.50", "203.0.113.1",
	  "192.0.2.53", "203.0.113.50", 5000, 5353, 53, 5000,
	  2, 120, 0, 0, 0, 0, NULL, NULL, FLOW_END_ACTIVE, 0, 0, 700, 0 },
	/* ICMPv6 echo, NAT66 of the source */
	{ AF_INET6, IPPROTO_ICMPV6, "2001:db8::11", "2001:db8:2::30",
	  "2001:db8:2::30", "2001:db8:ffff::2", 0x4321, 128 << 8, 0x4321,
	  129 << 8, 4, 416, 4, 416, 0, 0, NULL, NULL, FLOW_END_FORCED, 0, 0,
	  0, FLOW_KIND_NAT_DELETE },
};
static const struct conn_spec msg3[] = {
	/* TCP without NAT, with interfaces and next hops */
	{ AF_INET, IPPROTO_TCP, "192.0.2.12", "198.51.100.22",
	  "198.51.100.22", "192.0.2.12", 41000, 80, 80, 41000,
	  5, 400, 4, 4000, 3, 7, "198.51.100.1", "192.0.2.1",
	  FLOW_END_DETECTED, 0x16, 0x12, 65535, 0 },
	/* TCP SNAT over IPv6 with interfaces and next hops */
	{ AF_INET6, IPPROTO_TCP, "2001:db8::12", "2001:db8:3::40",
	  "2001:db8:3::40", "2001:db8:ffff::3", 42000, 22, 22, 1025,
	  6, 500, 5, 5000, 4, 8, "2001:db8:3::1", "2001:db8::1",
	  FLOW_END_IDLE, 0x12, 0x12, 1, FLOW_KIND_NAT_CREATE },
};

/* Parses a textual address into a 16-byte network-order field, and for
 * IPv4 also into host order. */
static void parse_addr(int family, const char *s, uint8_t out[16],
		       uint32_t *host)
{
	struct in_addr a4;

	memset(out, 0, 16);
	if (family == AF_INET) {
		if (inet_pton(AF_INET, s, &a4) != 1)
			abort();
		memcpy(out, &a4, 4);
		*host = ntohl(a4.s_addr);
	} else if (inet_pton(AF_INET6, s, out) != 1) {
		abort();
	}
}

/* Turns a spec into the event and export handed to nfx_rec_build. */
static void make_conn(const struct conn_spec *s, uint64_t now_ms,
		      unsigned idx, struct ct_event *ev, struct flow_conn *c)
{
	uint8_t scratch[16];

	memset(ev, 0, sizeof(*ev));
	memset(c, 0, sizeof(*c));
	ev->type = CT_EVENT_DESTROY;
	ev->id = 1000 + idx;
	ev->family = (uint8_t)s->family;
	ev->proto = s->proto;
	ev->has_counters = true;
	if (s->family == AF_INET) {
		parse_addr(AF_INET, s->os, scratch, &ev->orig.src);
		parse_addr(AF_INET, s->od, scratch, &ev->orig.dst);
		parse_addr(AF_INET, s->rs, scratch, &ev->reply.src);
		parse_addr(AF_INET, s->rd, scratch, &ev->reply.dst);
	} else {
		parse_addr(AF_INET6, s->os, ev->orig6.src, NULL);
		parse_addr(AF_INET6, s->od, ev->orig6.dst, NULL);
		parse_addr(AF_INET6, s->rs, ev->reply6.src, NULL);
		parse_addr(AF_INET6, s->rd, ev->reply6.dst, NULL);
	}
	ev->orig.sport = s->osp;
	ev->orig.dport = s->odp;
	ev->reply.sport = s->rsp;
	ev->reply.dport = s->rdp;
	ev->zone = s->zone;
	c->ev = ev;
	c->reason = (enum flow_end)s->reason;
	c->tcp_flags = s->flags;
	c->rtcp_flags = s->rflags;
	c->has_counters = true;
	c->orig_packets = s->opk;
	c->orig_bytes = s->oby;
	c->reply_packets = s->rpk;
	c->reply_bytes = s->rby;
	/* distinct times per connection: start 60 s ago plus idx seconds,
	 * end idx * 1.5 s later, at odd milliseconds */
	c->start_real_ms = now_ms - 60000 + idx * 1000 + 123;
	c->end_real_ms = c->start_real_ms + idx * 1500 + 250;
	c->in_if = s->in_if;
	c->out_if = s->out_if;
	if (s->nh != NULL)
		parse_addr(s->family, s->nh, c->nexthop, &(uint32_t){ 0 });
	if (s->rnh != NULL)
		parse_addr(s->family, s->rnh, c->rnexthop, &(uint32_t){ 0 });
}

/* Prints an address field of a record. */
static void print_addr(const struct nfx_rec *r, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(r->family, a, buf, sizeof(buf));
	printf(" %s", buf);
}

/* Prints a port, or type.code for ICMP's destination. */
static void print_port(const struct nfx_rec *r, uint16_t port, bool dst)
{
	bool icmp = r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6;

	if (icmp && dst)
		printf(" %u.%u", r->icmp_type_code >> 8,
		       r->icmp_type_code & 0xff);
	else
		printf(" %u", port);
}

/* Prints one record in the line format of the usage comment. */
static void print_rec(const struct nfx_rec *r, bool interfaces)
{
	unsigned tid;

	printf("%u", r->proto);
	print_addr(r, r->src);
	print_port(r, r->sport, false);
	print_addr(r, r->dst);
	print_port(r, r->dport, true);
	print_addr(r, r->xsrc);
	print_port(r, r->xsport, false);
	print_addr(r, r->xdst);
	print_port(r, r->xdport, false);
	printf(" %llu %llu %llu %llu %u %u",
	       (unsigned long long)r->packets, (unsigned long long)r->octets,
	       (unsigned long long)r->start_ms, (unsigned long long)r->end_ms,
	       r->in_if, r->out_if);
	print_addr(r, r->nexthop);
	if (interfaces)
		tid = r->family == AF_INET6 ? NFX_TEMPLATE_V6_IF :
		      NFX_TEMPLATE_V4_IF;
	else
		tid = r->family == AF_INET6 ? NFX_TEMPLATE_V6 :
		      NFX_TEMPLATE_V4;
	printf(" %u %u 0x%02x %u %u\n", r->direction, tid, r->tcp_flags,
	       r->end_reason, r->zone);
}

/* Prints one NAT event in the "#nat" line format of the usage comment. */
static void print_event(const struct nfx_rec *r, unsigned msg)
{
	printf("#nat %u %u %u", msg, r->nat_event, r->proto);
	print_addr(r, r->src);
	printf(" %u", r->sport);
	print_addr(r, r->dst);
	printf(" %u", r->dport);
	print_addr(r, r->xsrc);
	printf(" %u", r->xsport);
	print_addr(r, r->xdst);
	printf(" %u %llu %llu %u %u\n", r->xdport,
	       (unsigned long long)r->start_ms,
	       (unsigned long long)r->event_ms, r->zone,
	       r->family == AF_INET6 ? NFX_TEMPLATE_NAT6 : NFX_TEMPLATE_NAT4);
}

/* Interface names of message 3's records. */
static const struct nfx_ifname ifnames[] = {
	{ 3, "lan0", "inside" }, { 7, "wan0", "uplink to the provider" },
	{ 4, "lan1-sixteen-chr", "" },
	{ 8, "wan1", "a description: thirty-two chars!" },
};

/* The exporting process the options records name (any pid, any start). */
#define PROCESS_ID 4242u
#define INIT_MS 1700000000123ull

/* What was sent so far: messages, data records, octets, options data
 * records. */
static struct { uint64_t messages, records, octets, opt; } sent;

/* Builds one message from the specs, sends it, prints its records;
 * returns the number of data records. */
static unsigned send_msg(int fd, uint8_t version, bool interfaces,
			 bool templates, const struct conn_spec *specs,
			 unsigned n, unsigned first_idx, uint64_t now_ms,
			 uint32_t sequence)
{
	struct nfx_msg m;
	struct nfx_header h = { 0 };
	struct ct_event ev;
	struct flow_conn c;
	struct nfx_rec recs[2];
	unsigned i, j, k, total = 0;
	size_t len;

	nfx_begin(&m, version, interfaces, templates);
	if (templates) {
		struct nfx_options o = {
			.domain = DOMAIN, .messages = sent.messages,
			.records = sent.records, .octets = sent.octets,
			.ifs = interfaces ? ifnames : NULL,
			.nifs = interfaces ? 4 : 0,
			.process_id = PROCESS_ID, .init_ms = INIT_MS,
		};
		unsigned nifs = nfx_add_options(&m, &o);

		if (nifs != o.nifs) {
			fprintf(stderr, "nfxsend: options do not fit\n");
			exit(1);
		}
		printf("#opt %llu sampling %u 1 1 0\n",
		       (unsigned long long)sent.messages, DOMAIN);
		printf("#opt %llu stats %u %llu %llu %llu\n",
		       (unsigned long long)sent.messages, DOMAIN,
		       (unsigned long long)sent.messages,
		       (unsigned long long)sent.records,
		       (unsigned long long)sent.octets);
		printf("#opt %llu process %u %u %llu\n",
		       (unsigned long long)sent.messages, DOMAIN, PROCESS_ID,
		       (unsigned long long)INIT_MS);
		/* a name or description of the field's full length has no
		 * terminator */
		for (i = 0; i < nifs; i++)
			printf("#opt %llu if %u %.*s %.*s\n",
			       (unsigned long long)sent.messages,
			       ifnames[i].index, NFX_IFNAME_LEN, ifnames[i].name,
			       NFX_IFDESCR_LEN, ifnames[i].descr[0] ?
			       ifnames[i].descr : "-");
		sent.opt += 3 + nifs;	/* sampling, totals, process */
	}
	for (i = 0; i < n; i++) {
		make_conn(&specs[i], now_ms, first_idx + i, &ev, &c);
		if (specs[i].nat) {
			struct flow_conn e = c;
			struct nfx_rec er;

			e.kind = (enum flow_kind)specs[i].nat;
			e.event_real_ms = c.end_real_ms + 7;
			/* RFC 8158 numbering for IPv4, legacy for IPv6 */
			if (!nfx_event_build(&e, ev.family == AF_INET ?
					     NFX_NAT_RFC8158 : NFX_NAT_LEGACY,
					     &er) || !nfx_add(&m, &er)) {
				fprintf(stderr, "nfxsend: NAT event failed\n");
				exit(1);
			}
			print_event(&er, (unsigned)sent.messages);
			total++;
		}
		k = nfx_rec_build(&c, recs);
		for (j = 0; j < k; j++) {
			if (!nfx_add(&m, &recs[j])) {
				fprintf(stderr, "nfxsend: record does not fit\n");
				exit(1);
			}
			print_rec(&recs[j], interfaces);
			total++;
		}
	}
	h.export_secs = (uint32_t)(now_ms / 1000);
	h.sysuptime_ms = 3600000;
	h.sequence = sequence;
	h.domain = DOMAIN;
	len = nfx_finish(&m, &h);
	if (send(fd, m.buf, len, 0) != (ssize_t)len) {
		fprintf(stderr, "nfxsend: send: %s\n", strerror(errno));
		exit(1);
	}
	sent.messages++;
	sent.records += total;
	sent.octets += len;
	/* a gap between datagrams, so none is lost in the socket buffer */
	usleep(20000);
	return total;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timespec ts;
	uint64_t now_ms;
	uint8_t version;
	unsigned recs = 0;
	int fd;

	if (argc != 3 || (strcmp(argv[1], "9") && strcmp(argv[1], "10"))) {
		fprintf(stderr, "usage: nfxsend 9|10 PORT\n");
		return 2;
	}
	version = (uint8_t)atoi(argv[1]);
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nfxsend");
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* v9 sequence counts messages, IPFIX's data records, options data
	 * records among them */
	recs += send_msg(fd, version, false, true, msg1, 2, 0, now_ms, 0);
	recs += send_msg(fd, version, false, false, msg2, 3, 2, now_ms,
			 version == NFX_VERSION_V9 ? 1 :
			 (uint32_t)(recs + sent.opt));
	send_msg(fd, version, true, true, msg3, 2, 5, now_ms,
		 version == NFX_VERSION_V9 ? 2 : (uint32_t)(recs + sent.opt));
	close(fd);
	return 0;
}
