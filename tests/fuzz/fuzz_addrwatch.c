/* libFuzzer target: arbitrary bytes as one datagram received on the
 * address watch's rtnetlink socket, applied to a watch of an IPv4 and of
 * an IPv6 address; the set of interfaces never overflows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfflowd/addrwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies the input into an exact-size heap block so that any read past
 * its end is caught. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t v4[4] = { 198, 51, 100, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2 };
	struct addrwatch w4, w6;
	uint8_t *copy = malloc(size ? size : 1);
	unsigned h;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	addrwatch_init(&w4, AF_INET, v4);
	addrwatch_init(&w6, AF_INET6, v6);
	h = addrwatch_apply(&w4, copy, size);
	h += addrwatch_apply(&w6, copy, size);
	if (w4.nifs > ADDRWATCH_MAX_IFS || w6.nifs > ADDRWATCH_MAX_IFS ||
	    h > 2 * (size / 16))
		__builtin_trap();
	free(copy);
	return 0;
}
