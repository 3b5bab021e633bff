/* Test tool: creates N conntrack entries through ctnetlink, as a NAT
 * firewall would hold them, so a test can then flush the table and watch
 * the DESTROY storm. Run it inside a throwaway network namespace only.
 *
 * usage: ctstorm COUNT [TIMEOUT_S]
 *   orig  192.0.2.(2+i/60000%200):(1024+i%60000) -> 198.51.100.2:(80+i/60000)
 *   reply 198.51.100.2:(80+i/60000) -> 198.51.100.1:(1024+i%60000)
 * (a masquerade; the server port keeps reply tuples unique past 60,000)
 * Alternates TCP (ESTABLISHED) and UDP. Prints how many it created. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#define BATCH 256

static void fill(struct nf_conntrack *ct, unsigned long i, unsigned timeout)
{
	uint16_t port = (uint16_t)(1024 + i % 60000);
	uint16_t server = (uint16_t)(80 + i / 60000);
	uint32_t lan = htonl((192u << 24) | (0u << 16) | (2u << 8) |
			     (uint32_t)(2 + i / 60000 % 200));
	uint8_t proto = i % 2 ? IPPROTO_UDP : IPPROTO_TCP;

	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, lan);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, inet_addr("198.51.100.2"));
	nfct_set_attr_u8(ct, ATTR_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(port));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(server));
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, inet_addr("198.51.100.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, inet_addr("198.51.100.1"));
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(server));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(port));
	if (proto == IPPROTO_TCP)
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_SEEN_REPLY |
			  IPS_ASSURED | IPS_SRC_NAT | IPS_SRC_NAT_DONE);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout);
}

/* Reads the acks of one batch; returns how many failed. */
static unsigned long read_acks(struct mnl_socket *nl, unsigned pending)
{
	static char buf[8192];	/* MNL_SOCKET_BUFFER_SIZE is not a constant */
	unsigned long failed = 0;

	while (pending > 0) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		struct nlmsghdr *nlh;
		int len = (int)n;

		if (n < 0) {
			perror("ctstorm: recv");
			exit(1);
		}
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error != 0 && failed++ == 0)
					fprintf(stderr, "ctstorm: create: %s\n",
						strerror(-e->error));
				pending--;
			}
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	static char buf[BATCH * 512];
	unsigned long count, timeout, i, failed = 0;
	struct nf_conntrack *ct;
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ctstorm COUNT [TIMEOUT_S]\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 10);
	timeout = argc > 2 ? strtoul(argv[2], NULL, 10) : 600;
	if (count == 0 || count > 2000000 || timeout == 0) {
		fprintf(stderr, "ctstorm: COUNT 1..2000000, TIMEOUT_S > 0\n");
		return 2;
	}
	nl = mnl_socket_open(NETLINK_NETFILTER);
	ct = nfct_new();
	if (!nl || !ct || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("ctstorm: netlink");
		return 1;
	}
	for (i = 0; i < count;) {
		size_t off = 0;
		unsigned n;

		for (n = 0; n < BATCH && i < count; n++, i++) {
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);
			struct nfgenmsg *nfh;

			nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
			nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
			nlh->nlmsg_seq = seq++;
			nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
			nfh->nfgen_family = AF_INET;
			nfh->version = NFNETLINK_V0;
			nfh->res_id = 0;
			fill(ct, i, (unsigned)timeout);
			nfct_nlmsg_build(nlh, ct);
			off += nlh->nlmsg_len;
		}
		if (mnl_socket_sendto(nl, buf, off) < 0) {
			perror("ctstorm: send");
			return 1;
		}
		failed += read_acks(nl, n);
	}
	printf("%lu created, %lu failed\n", count - failed, failed);
	nfct_destroy(ct);
	mnl_socket_close(nl);
	return failed ? 1 : 0;
}
