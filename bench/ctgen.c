/* Builds ctnetlink event messages as the kernel lays them out, for the
 * benchmarks (never linked into the daemon). */
#include "ctgen.h"

#include <endian.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#define LAN_NET 0xc0000200u	/* 192.0.2.0 */
#define WAN_NET 0xc6336400u	/* 198.51.100.0 */
#define NAT_ADDR 0xcb007101u	/* 203.0.113.1 */

uint32_t ctgen_hash32(uint32_t x)
{
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	x *= 0x297a2d39u;
	x ^= x >> 15;
	return x;
}

void ctgen_conn(uint32_t i, uint64_t base_real_ns, struct ctgen_conn *c)
{
	uint32_t h = ctgen_hash32(i);
	uint32_t pick = h % 100;
	uint16_t sport = (uint16_t)(1024 + i % 60000);

	memset(c, 0, sizeof(*c));
	c->id = ctgen_hash32(i ^ 0x9e3779b9u);	/* ids look random, as the kernel's */
	c->proto = pick < 70 ? IPPROTO_TCP : pick < 95 ? IPPROTO_UDP
						      : IPPROTO_ICMP;
	c->nat = (h >> 8) % 10 != 0;
	c->answered = !(c->proto == IPPROTO_UDP && (h >> 12) % 5 == 0);
	c->orig.src = LAN_NET | (2 + (h >> 16) % 250);
	c->orig.dst = WAN_NET | (2 + (h >> 24) % 250);
	if (c->proto == IPPROTO_ICMP) {
		c->orig.sport = sport;			/* echo id */
		c->orig.dport = 8 << 8;			/* echo request */
		c->reply.sport = sport;
		c->reply.dport = 0;			/* echo reply */
	} else {
		c->orig.sport = sport;
		c->orig.dport = c->proto == IPPROTO_TCP ? 443 : 53;
		c->reply.sport = c->orig.dport;
		c->reply.dport = c->nat ? (uint16_t)(sport ^ 0x4000) : sport;
	}
	c->reply.src = c->orig.dst;
	c->reply.dst = c->nat ? NAT_ADDR : c->orig.src;
	c->orig_packets = 3 + h % 40;
	c->orig_bytes = c->orig_packets * (60 + h % 900);
	if (c->answered) {
		c->reply_packets = 2 + (h >> 4) % 60;
		c->reply_bytes = c->reply_packets * (60 + (h >> 6) % 1400);
	}
	c->start_ns = base_real_ns + (uint64_t)i * 1000;
	c->stop_ns = c->start_ns + 1000000000ull * (1 + h % 120);
}

/* Puts one tuple nest (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY). */
static void put_tuple(struct nlmsghdr *nlh, uint16_t type, uint8_t proto,
		      const struct ct_tuple *t)
{
	struct nlattr *tup, *ip, *pr;

	tup = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htobe32(t->src));
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htobe32(t->dst));
	mnl_attr_nest_end(nlh, ip);
	pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	if (proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htobe16(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, (uint8_t)(t->dport >> 8));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, (uint8_t)t->dport);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htobe16(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htobe16(t->dport));
	}
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, tup);
}

/* Puts one CTA_COUNTERS_* nest with 64-bit packets and bytes. */
static void put_counters(struct nlmsghdr *nlh, uint16_t type, uint64_t packets,
			 uint64_t bytes)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(packets));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	mnl_attr_nest_end(nlh, n);
}

/* Puts CTA_PROTOINFO for TCP: state always, window data on NEW. */
static void put_tcpinfo(struct nlmsghdr *nlh, uint8_t state, bool full)
{
	struct nf_ct_tcp_flags fl = { 0, 0 };
	struct nlattr *pi, *tcp;

	pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, state);
	if (full) {
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_REPLY, 7);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(fl), &fl);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(fl), &fl);
	}
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pi);
}

size_t ctgen_msg(void *buf, const struct ctgen_conn *c, bool destroy)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t status = IPS_CONFIRMED;

	memset(buf, 0, CTGEN_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) |
			  (destroy ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_NEW);
	nlh->nlmsg_flags = destroy ? 0 : NLM_F_CREATE | NLM_F_EXCL;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	put_tuple(nlh, CTA_TUPLE_ORIG, c->proto, &c->orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, c->proto, &c->reply);
	if (c->nat)
		status |= IPS_SRC_NAT | IPS_SRC_NAT_DONE;
	if (destroy && c->answered)
		status |= IPS_SEEN_REPLY | IPS_ASSURED;
	mnl_attr_put_u32(nlh, CTA_STATUS, htobe32(status));
	if (destroy) {
		put_counters(nlh, CTA_COUNTERS_ORIG, c->orig_packets, c->orig_bytes);
		put_counters(nlh, CTA_COUNTERS_REPLY, c->reply_packets,
			     c->reply_bytes);
		{
			struct nlattr *ts = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);

			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(c->start_ns));
			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP, htobe64(c->stop_ns));
			mnl_attr_nest_end(nlh, ts);
		}
		if (c->proto == IPPROTO_TCP)
			put_tcpinfo(nlh, TCP_CONNTRACK_TIME_WAIT, false);
	} else {
		mnl_attr_put_u32(nlh, CTA_TIMEOUT, htobe32(120));
		if (c->proto == IPPROTO_TCP)
			put_tcpinfo(nlh, TCP_CONNTRACK_SYN_SENT, true);
	}
	mnl_attr_put_u32(nlh, CTA_ID, htobe32(c->id));
	mnl_attr_put_u32(nlh, CTA_USE, htobe32(1));
	return NLMSG_ALIGN(nlh->nlmsg_len);
}
