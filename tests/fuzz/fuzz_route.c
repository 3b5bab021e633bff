/* libFuzzer target: arbitrary bytes as one datagram received on the route
 * query socket, searched by routecache_parse_reply for the answer with
 * sequence number 1, as an IPv4 and as an IPv6 query. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfflowd/routecache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what a parse promises; traps otherwise. */
static void check(enum routecache_reply rr, uint8_t family,
		  const struct route_hop *hop, int error)
{
	static const uint8_t zero[12];

	switch (rr) {
	case ROUTECACHE_REPLY_ROUTE:
		/* An IPv4 gateway fills only the first 4 bytes. */
		if (family == AF_INET && memcmp(hop->gateway + 4, zero, 12) != 0)
			__builtin_trap();
		break;
	case ROUTECACHE_REPLY_ERROR:
		if (error < 0 || error > 4095)
			__builtin_trap();
		break;
	case ROUTECACHE_REPLY_NONE:
	case ROUTECACHE_REPLY_MALFORMED:
		break;
	default:
		__builtin_trap();
	}
}

/* Copies the input into an exact-size heap block (malloc alignment, as a
 * receive buffer has) so that any read past the end is caught. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	uint8_t *buf;
	size_t i;

	if (size > 65536)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (i = 0; i < sizeof(families); i++) {
		struct route_hop hop;
		int error = -1;
		enum routecache_reply rr;

		memset(&hop, 0, sizeof(hop));
		rr = routecache_parse_reply(buf, size, families[i], 1, &hop,
					    &error);
		check(rr, families[i], &hop, error);
	}
	free(buf);
	return 0;
}
