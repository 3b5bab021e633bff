/* libFuzzer target: arbitrary bytes as one received netlink datagram, walked
 * the way ctsrc walks it (ctmsg_walk_ok, i.e. mnl_nlmsg_ok plus a length
 * guard, and mnl_nlmsg_next) and parsed by ctmsg_parse. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "nfflowd/ctmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what a successful parse promises; traps otherwise. */
static void check_event(const struct ct_event *ev)
{
	static const struct ct_addr6 zero6;

	if (ev->type != CT_EVENT_NEW && ev->type != CT_EVENT_UPDATE &&
	    ev->type != CT_EVENT_DESTROY)
		__builtin_trap();
	/* any protocol, but never the other family's ICMP */
	if (ev->proto == (ev->family == AF_INET6 ? 1 : 58))
		__builtin_trap();
	if (ev->family == AF_INET) {
		if (memcmp(&ev->orig6, &zero6, sizeof(zero6)) ||
		    memcmp(&ev->reply6, &zero6, sizeof(zero6)))
			__builtin_trap();
	} else if (ev->family == AF_INET6) {
		if (ev->orig.src || ev->orig.dst || ev->reply.src ||
		    ev->reply.dst)
			__builtin_trap();
	} else {
		__builtin_trap();
	}
	if (ev->proto != 6 && ev->tcp_state != 0)
		__builtin_trap();
	if (!ev->has_counters && (ev->orig_packets || ev->orig_bytes ||
				  ev->reply_packets || ev->reply_bytes))
		__builtin_trap();
	if ((!ev->has_start && ev->start_ns) || (!ev->has_stop && ev->stop_ns))
		__builtin_trap();
}

/* Copies the input into an exact-size heap block (malloc alignment, as a
 * receive buffer has) so that any read past the end is caught. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nf_conntrack *scratch;
	const struct nlmsghdr *nlh;
	uint8_t *buf;
	int rem;

	if (size > 65536)
		return 0;	/* ctsrc never receives more */
	if (!scratch)
		scratch = nfct_new();
	buf = malloc(size ? size : 1);
	if (!buf || !scratch) {
		free(buf);
		return 0;
	}
	memcpy(buf, data, size);
	nlh = (const struct nlmsghdr *)buf;
	rem = (int)size;
	while (ctmsg_walk_ok(nlh, rem)) {
		struct ct_event ev;
		uint32_t id;
		bool peeked = ctmsg_peek_id(nlh, (size_t)rem, &id);

		/* the peek reads only what the parse reads, and finds the
		 * parsed event's id (a message with two ids is malformed) */
		if (ctmsg_parse(nlh, (size_t)rem, scratch, &ev) == CTMSG_OK) {
			check_event(&ev);
			if (!peeked || id != ev.id)
				__builtin_trap();
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	free(buf);
	return 0;
}
