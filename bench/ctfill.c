/* Benchmark tool: creates COUNT conntrack entries as a masquerading
 * firewall holds them, more than the 60000 that one server address and one
 * masquerade address allow: the server address varies too. Run it inside a
 * throwaway network namespace only.
 *
 * usage: ctfill COUNT [TIMEOUT_S]
 *   orig  192.0.2.(2+i%200):(1024+i%60000) -> 198.51.100.(3+i/60000%200):80
 *   reply 198.51.100.(3+i/60000%200):80 -> 198.51.100.1:(1024+i%60000)
 * TCP (ESTABLISHED) and UDP alternate. Prints how many it created. */
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

/* Sets the tuples of entry i: (server, port) makes every reply tuple
 * unique, as the masquerade address and the server port are fixed. Servers
 * start at .3 so that no entry collides with a real connection to the
 * lab's server .2 that is still in the table. */
static void fill(struct nf_conntrack *ct, unsigned long i, unsigned timeout)
{
	uint16_t port = htons((uint16_t)(1024 + i % 60000));
	uint32_t lan = htonl(0xc0000200u | (uint32_t)(2 + i % 200));
	uint32_t srv = htonl(0xc6336400u | (uint32_t)(3 + i / 60000 % 200));
	uint32_t masq = htonl(0xc6336401u);
	uint8_t proto = i % 2 ? IPPROTO_UDP : IPPROTO_TCP;

	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, lan);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, srv);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, port);
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(80));
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, srv);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, masq);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(80));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, port);
	if (proto == IPPROTO_TCP)
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_SEEN_REPLY |
			  IPS_ASSURED | IPS_SRC_NAT | IPS_SRC_NAT_DONE);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout);
}

int main(int argc, char **argv)
{
	unsigned long count, i, failed = 0;
	unsigned timeout;
	struct nfct_handle *h;
	struct nf_conntrack *ct;

	if (argc < 2) {
		fprintf(stderr, "usage: ctfill COUNT [TIMEOUT_S]\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 10);
	timeout = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 600;
	if (count > 12000000) {
		fprintf(stderr, "ctfill: at most 12000000 entries\n");
		return 2;
	}
	h = nfct_open(CONNTRACK, 0);
	ct = nfct_new();
	if (!h || !ct) {
		perror("ctfill");
		return 1;
	}
	for (i = 0; i < count; i++) {
		fill(ct, i, timeout);
		if (nfct_query(h, NFCT_Q_CREATE, ct) < 0 && failed++ < 3)
			perror("ctfill: create");
	}
	printf("%lu created, %lu failed\n", count - failed, failed);
	nfct_destroy(ct);
	nfct_close(h);
	return failed ? 1 : 0;
}
