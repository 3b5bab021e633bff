/* The flow-tools style CSV line for one exported record (SPEC §5).
 * Written digit by digit: the line is made for every record, at the rate
 * of the export, and snprintf's format parsing was most of its cost. */
#include "nfflowd/csvline.h"

#include <string.h>

/* Longest line: seven 10-digit numbers, three 15-character dotted quads,
 * four 5-digit and three 3-digit numbers, a 63-character exporter address
 * and 17 commas: 224 characters, so CSVLINE_MAX holds it with its NUL. */
#define LINE_WORST 224
_Static_assert(LINE_WORST < CSVLINE_MAX, "CSVLINE_MAX holds any line");

/* "00" to "99": two digits per division, half the divisions of one
 * digit at a time. */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/* Writes v in decimal at p; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	unsigned n = sizeof(tmp);

	while (v >= 100) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * v, 2);
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(p, tmp + n, sizeof(tmp) - n);
	return p + sizeof(tmp) - n;
}

/* Writes one octet (0..255) in decimal at p; returns the end. */
static char *put_octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	if (v >= 10) {
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	*p++ = (char)('0' + v);
	return p;
}

/* Writes a host-order IPv4 address as a dotted quad at p; returns the end. */
static char *put_ipv4(char *p, uint32_t a)
{
	p = put_octet(p, a >> 24);
	*p++ = '.';
	p = put_octet(p, (a >> 16) & 0xFF);
	*p++ = '.';
	p = put_octet(p, (a >> 8) & 0xFF);
	*p++ = '.';
	return put_octet(p, a & 0xFF);
}

/* Writes v and a comma; returns the end. */
static char *field(char *p, uint32_t v)
{
	p = put_u32(p, v);
	*p++ = ',';
	return p;
}

size_t csvline_format(char *buf, size_t len, const struct nf5_header *h,
		      const char *exaddr, const struct flow_record *r)
{
	char spare[CSVLINE_MAX];
	/* A buffer that holds any line is written in place; a smaller one
	 * gets the line only if it fits. */
	char *line = len >= CSVLINE_MAX ? buf : spare;
	char *p = line;
	size_t exlen, n;

	if (buf == NULL || len == 0)
		return 0;
	if (exaddr == NULL)
		exaddr = "0.0.0.0";
	exlen = strnlen(exaddr, CSVLINE_EXADDR_MAX);
	if (exlen >= CSVLINE_EXADDR_MAX) {
		buf[0] = '\0';
		return 0;
	}
	p = field(p, h->unix_secs);
	p = field(p, h->unix_nsecs);
	p = field(p, h->sysuptime_ms);
	memcpy(p, exaddr, exlen);
	p += exlen;
	*p++ = ',';
	p = field(p, r->packets);
	p = field(p, r->octets);
	p = field(p, r->first);
	p = field(p, r->last);
	p = put_ipv4(p, r->src);
	*p++ = ',';
	p = put_ipv4(p, r->dst);
	*p++ = ',';
	p = put_ipv4(p, r->nexthop);
	*p++ = ',';
	p = field(p, r->input);
	p = field(p, r->output);
	p = field(p, r->sport);
	p = field(p, r->dport);
	p = field(p, r->proto);
	p = field(p, r->tos);
	p = put_u32(p, r->tcp_flags);
	n = (size_t)(p - line);
	if (n >= len) {
		buf[0] = '\0';
		return 0;
	}
	if (line != buf)
		memcpy(buf, line, n);
	buf[n] = '\0';
	return n;
}
