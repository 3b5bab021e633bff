/* libFuzzer target: arbitrary bytes as a state file through
 * statefile_decode. Whatever it accepts is encoded again with the same
 * header: that must decode to the same records, repeat every accepted
 * byte that is not reserved or an extra tail, and encode again to the
 * same bytes. Each input is tried as it is and with its checksum
 * corrected, so that mutations also reach the record checks. The seeds in
 * corpus/statefile are statefile_begin/put/end output: no records, one
 * IPv4, one IPv6, a mix, and two records with extra tails. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfflowd/statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stores a 32-bit value big-endian at p. */
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Records handed out by one decode. */
struct recs {
	struct statefile_rec *r;
	size_t n, cap;
};

/* Appends each record handed out; traps if more come than can be in the
 * bytes. */
static void collect(const struct statefile_rec *r, void *arg)
{
	struct recs *rs = arg;

	if (rs->n >= rs->cap)
		__builtin_trap();
	rs->r[rs->n++] = *r;
}

/* Whether two records hold the same values, field by field. */
static int rec_equal(const struct statefile_rec *a,
		     const struct statefile_rec *b)
{
	return a->id == b->id && a->family == b->family &&
	       a->proto == b->proto && a->tcp_state == b->tcp_state &&
	       a->zone == b->zone && a->flags == b->flags &&
	       a->kstart == b->kstart && a->start_ms == b->start_ms &&
	       a->orig.src == b->orig.src && a->orig.dst == b->orig.dst &&
	       a->orig.sport == b->orig.sport &&
	       a->orig.dport == b->orig.dport &&
	       a->reply.src == b->reply.src && a->reply.dst == b->reply.dst &&
	       a->reply.sport == b->reply.sport &&
	       a->reply.dport == b->reply.dport &&
	       memcmp(&a->orig6, &b->orig6, sizeof(a->orig6)) == 0 &&
	       memcmp(&a->reply6, &b->reply6, sizeof(a->reply6)) == 0 &&
	       a->sent_orig_packets == b->sent_orig_packets &&
	       a->sent_orig_bytes == b->sent_orig_bytes &&
	       a->sent_reply_packets == b->sent_reply_packets &&
	       a->sent_reply_bytes == b->sent_reply_bytes &&
	       a->last_end_ns == b->last_end_ns &&
	       a->last_end_real_ms == b->last_end_real_ms &&
	       a->exports == b->exports && a->has_seen == b->has_seen &&
	       a->seen_orig_packets == b->seen_orig_packets &&
	       a->seen_orig_bytes == b->seen_orig_bytes &&
	       a->seen_reply_packets == b->seen_reply_packets &&
	       a->seen_reply_bytes == b->seen_reply_bytes &&
	       a->seen_boot_ns == b->seen_boot_ns;
}

/* Traps unless an accepted record keeps the rules the decoder enforces,
 * with the addresses of the other family zero. */
static void check_rec(const struct statefile_rec *r)
{
	static const struct ct_addr6 zero6;

	if (r->proto == 0 ||
	    (r->flags & ~STATEFILE_REC_FLAGS) != 0)
		__builtin_trap();
	if (r->family == AF_INET) {
		if (memcmp(&r->orig6, &zero6, sizeof(zero6)) != 0 ||
		    memcmp(&r->reply6, &zero6, sizeof(zero6)) != 0)
			__builtin_trap();
	} else if (r->family == AF_INET6) {
		if (r->orig.src || r->orig.dst || r->reply.src || r->reply.dst)
			__builtin_trap();
	} else {
		__builtin_trap();
	}
}

/* Whether two headers hold the same values. */
static int header_equal(const struct statefile_header *a,
			const struct statefile_header *b)
{
	return a->version == b->version && a->flags == b->flags &&
	       memcmp(a->boot_id, b->boot_id, sizeof(a->boot_id)) == 0 &&
	       a->written_real_ns == b->written_real_ns &&
	       a->written_boot_ns == b->written_boot_ns && a->netns == b->netns;
}

/* Loads a big-endian 16-bit value from p. */
static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* Traps unless out, the re-encoding of the n records in accepted, repeats
 * its bytes but for the reserved ones (header bytes 48 to 63, record bytes
 * 18 and 19), the record lengths and what follows the known fields. */
static void check_same_bytes(const uint8_t *in, size_t inlen,
			     const uint8_t *out, size_t outlen, size_t n)
{
	size_t ip = STATEFILE_HEADER_SIZE, op = STATEFILE_HEADER_SIZE, i, k;

	if (memcmp(in, out, 48) != 0)
		__builtin_trap();
	for (i = 0; i < n; i++) {
		size_t il = get16(in + ip), ol = get16(out + op);

		if (ol > il)
			__builtin_trap();
		for (k = 2; k < ol; k++)
			if (k != 18 && k != 19 && in[ip + k] != out[op + k])
				__builtin_trap();
		ip += il;
		op += ol;
	}
	if (ip != inlen - STATEFILE_TRAILER_SIZE ||
	    op != outlen - STATEFILE_TRAILER_SIZE ||
	    memcmp(in + ip, out + op, 16) != 0)
		__builtin_trap();
}

/* Encodes h and the records into out (cap bytes, at least a header);
 * returns the length, and aborts rather than write past cap. */
static size_t encode(uint8_t *out, size_t cap,
		     const struct statefile_header *h, const struct recs *rs)
{
	struct statefile_writer w;
	size_t len, i;

	len = statefile_begin(&w, out, h);
	for (i = 0; i < rs->n; i++) {
		if (cap - len < STATEFILE_REC_MAX)
			abort();
		len += statefile_put(&w, out + len, &rs->r[i]);
	}
	if (cap - len < STATEFILE_TRAILER_SIZE)
		abort();
	return len + statefile_end(&w, out + len);
}

/* Decodes an exact-size heap copy of the bytes (so that any read past
 * the end is caught) and checks the round trip of whatever it accepts;
 * with fix_crc the trailer's checksum is first made to match, so that
 * mutations get past it to the records. */
static void check(const uint8_t *data, size_t size, int fix_crc)
{
	struct statefile_header h, h2;
	struct recs a = { 0 }, b = { 0 };
	uint8_t *buf, *out = NULL, *out2 = NULL;
	size_t cap, outlen, outlen2, i;
	char err[128];
	long n;

	/* Every record is at least 144 bytes (each accepted one is counted
	 * against this bound in collect). */
	cap = size / 144 + 1;
	buf = malloc(size ? size : 1);
	a.r = calloc(cap, sizeof(*a.r));
	b.r = calloc(cap, sizeof(*b.r));
	if (!buf || !a.r || !b.r)
		goto out;
	a.cap = b.cap = cap;
	memcpy(buf, data, size);
	if (fix_crc)
		put32(buf + size - STATEFILE_TRAILER_SIZE + 16,
		      statefile_crc32c(0, buf, size - STATEFILE_TRAILER_SIZE));
	memset(err, 'x', sizeof(err));
	n = statefile_decode(buf, size, &h, collect, &a, err, sizeof(err));
	if (n < 0) {
		if (a.n != 0 || memchr(err, '\0', sizeof(err)) == NULL ||
		    err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();
		goto out;
	}
	if ((size_t)n != a.n || h.version != STATEFILE_VERSION)
		abort();
	for (i = 0; i < a.n; i++)
		check_rec(&a.r[i]);

	/* Re-encoded, the file is never longer (extra tails are dropped) and
	 * decodes to the same header and records. */
	out = malloc(size + STATEFILE_REC_MAX);
	out2 = malloc(size + STATEFILE_REC_MAX);
	if (!out || !out2)
		goto out;
	outlen = encode(out, size + STATEFILE_REC_MAX, &h, &a);
	if (outlen > size)
		abort();
	check_same_bytes(buf, size, out, outlen, a.n);
	if (statefile_decode(out, outlen, &h2, collect, &b, NULL, 0) != n ||
	    b.n != a.n || !header_equal(&h, &h2))
		abort();
	for (i = 0; i < a.n; i++)
		if (!rec_equal(&a.r[i], &b.r[i]))
			abort();
	/* Encoding what was decoded from an encoding gives the same bytes. */
	outlen2 = encode(out2, size + STATEFILE_REC_MAX, &h2, &b);
	if (outlen2 != outlen || memcmp(out, out2, outlen) != 0)
		abort();
out:
	free(out2);
	free(out);
	free(b.r);
	free(a.r);
	free(buf);
}

/* Checks the input as it is, then with its checksum made right. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	check(data, size, 0);
	if (size >= STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE)
		check(data, size, 1);
	return 0;
}
