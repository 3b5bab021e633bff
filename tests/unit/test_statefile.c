/* Unit tests for the state file: round trips, the byte layout, and that
 * every damaged, truncated, foreign or malformed file is refused whole. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "nfflowd/statefile.h"

#define HDR STATEFILE_HEADER_SIZE
#define TRL STATEFILE_TRAILER_SIZE
#define V4_LEN 144	/* encoded sizes of the two record forms */
#define V6_LEN 192
#define FILE_MAX 8192
#define MAX_RECS 64

/* A file being built in memory. */
struct file {
	uint8_t b[FILE_MAX];
	size_t len;
};

/* What the decode callback received. */
struct got {
	unsigned calls;
	struct statefile_rec recs[MAX_RECS];
};

/* Collects each record handed out. */
static void collect(const struct statefile_rec *r, void *arg)
{
	struct got *g = arg;

	if (g->calls < MAX_RECS)
		g->recs[g->calls] = *r;
	g->calls++;
}

/* A header with every field distinct. */
static struct statefile_header header(void)
{
	struct statefile_header h;
	unsigned i;

	memset(&h, 0, sizeof(h));
	h.version = STATEFILE_VERSION;
	h.flags = STATEFILE_F_CLEAN;
	for (i = 0; i < sizeof(h.boot_id); i++)
		h.boot_id[i] = (uint8_t)(0xB0 + i);
	h.written_real_ns = 0x17A1B2C3D4E5F607ull;
	h.written_boot_ns = 0x0000123456789ABCull;
	h.netns = 0x00000000F0000123ull;
	return h;
}

/* An IPv4 record whose every field holds its own value (wide ones use
 * all their bytes); salt tells records apart. */
static struct statefile_rec rec_v4(uint32_t salt)
{
	struct statefile_rec r;

	memset(&r, 0, sizeof(r));
	r.id = 0x11223344u + salt;
	r.family = AF_INET;
	r.proto = 6;
	r.tcp_state = 3;
	r.zone = 0x0A0B;
	r.flags = FLOW_F_FROM_DUMP | FLOW_F_KERNEL_START;
	r.kstart = 0xA1A2A3A4u;
	r.start_ms = 0x0102030405060708ull;
	r.orig.src = 0xC0000201u;	/* 192.0.2.1 */
	r.orig.dst = 0xC6336402u;	/* 198.51.100.2 */
	r.orig.sport = 40001;
	r.orig.dport = 443;
	r.reply.src = 0xC6336403u;
	r.reply.dst = 0xCB007104u;	/* 203.0.113.4 */
	r.reply.sport = 444;
	r.reply.dport = 40002;
	r.sent_orig_packets = 0x1011121314151617ull;
	r.sent_orig_bytes = 0x2021222324252627ull;
	r.sent_reply_packets = 0x3031323334353637ull;
	r.sent_reply_bytes = 0x4041424344454647ull;
	r.last_end_ns = 0x5051525354555657ull;
	r.last_end_real_ms = 0x6061626364656667ull;
	r.exports = 0x70717273u;
	r.has_seen = true;
	r.seen_orig_packets = 0x8081828384858687ull;
	r.seen_orig_bytes = 0x9091929394959697ull;
	r.seen_reply_packets = 0xA0A1A2A3A4A5A6A7ull;
	r.seen_reply_bytes = 0xB0B1B2B3B4B5B6B7ull;
	r.seen_boot_ns = 0xC0C1C2C3C4C5C6C7ull;
	return r;
}

/* An IPv6 record likewise; its IPv4 address fields stay zero as in
 * every IPv6 entry (types.h). */
static struct statefile_rec rec_v6(uint32_t salt)
{
	struct statefile_rec r;
	unsigned i;

	memset(&r, 0, sizeof(r));
	r.id = 0x55667788u + salt;
	r.family = AF_INET6;
	r.proto = 17;
	r.tcp_state = 0;
	r.zone = 0xFFFE;
	r.flags = FLOW_F_KERNEL_START;
	r.kstart = 0x0BADF00Du;
	r.start_ms = 0x1112131415161718ull;
	r.orig.sport = 5353;
	r.orig.dport = 53;
	r.reply.sport = 54;
	r.reply.dport = 5354;
	for (i = 0; i < 16; i++) {
		r.orig6.src[i] = (uint8_t)(0x20 + i);
		r.orig6.dst[i] = (uint8_t)(0x40 + i);
		r.reply6.src[i] = (uint8_t)(0x60 + i);
		r.reply6.dst[i] = (uint8_t)(0x80 + i);
	}
	r.sent_orig_packets = 0x0F0E0D0C0B0A0908ull;
	r.sent_orig_bytes = 0x1F1E1D1C1B1A1918ull;
	r.sent_reply_packets = 0x2F2E2D2C2B2A2928ull;
	r.sent_reply_bytes = 0x3F3E3D3C3B3A3938ull;
	r.last_end_ns = 0x4F4E4D4C4B4A4948ull;
	r.last_end_real_ms = 0x5F5E5D5C5B5A5958ull;
	r.exports = 0x01020304u + salt;
	r.has_seen = false;
	r.seen_orig_packets = 0;
	r.seen_boot_ns = 0;
	return r;
}

/* Asserts that two records are equal, field by field. */
static void assert_rec_equal(const struct statefile_rec *a,
			     const struct statefile_rec *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->tcp_state, b->tcp_state);
	assert_int_equal(a->zone, b->zone);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->kstart, b->kstart);
	assert_int_equal(a->start_ms, b->start_ms);
	assert_int_equal(a->orig.src, b->orig.src);
	assert_int_equal(a->orig.dst, b->orig.dst);
	assert_int_equal(a->orig.sport, b->orig.sport);
	assert_int_equal(a->orig.dport, b->orig.dport);
	assert_int_equal(a->reply.src, b->reply.src);
	assert_int_equal(a->reply.dst, b->reply.dst);
	assert_int_equal(a->reply.sport, b->reply.sport);
	assert_int_equal(a->reply.dport, b->reply.dport);
	assert_memory_equal(a->orig6.src, b->orig6.src, 16);
	assert_memory_equal(a->orig6.dst, b->orig6.dst, 16);
	assert_memory_equal(a->reply6.src, b->reply6.src, 16);
	assert_memory_equal(a->reply6.dst, b->reply6.dst, 16);
	assert_int_equal(a->sent_orig_packets, b->sent_orig_packets);
	assert_int_equal(a->sent_orig_bytes, b->sent_orig_bytes);
	assert_int_equal(a->sent_reply_packets, b->sent_reply_packets);
	assert_int_equal(a->sent_reply_bytes, b->sent_reply_bytes);
	assert_int_equal(a->last_end_ns, b->last_end_ns);
	assert_int_equal(a->last_end_real_ms, b->last_end_real_ms);
	assert_int_equal(a->exports, b->exports);
	assert_int_equal(a->has_seen, b->has_seen);
	assert_int_equal(a->seen_orig_packets, b->seen_orig_packets);
	assert_int_equal(a->seen_orig_bytes, b->seen_orig_bytes);
	assert_int_equal(a->seen_reply_packets, b->seen_reply_packets);
	assert_int_equal(a->seen_reply_bytes, b->seen_reply_bytes);
	assert_int_equal(a->seen_boot_ns, b->seen_boot_ns);
}

/* Encodes h and the n records into f. */
static void build(struct file *f, const struct statefile_header *h,
		  const struct statefile_rec *recs, unsigned n)
{
	struct statefile_writer w;
	unsigned i;

	f->len = statefile_begin(&w, f->b, h);
	assert_int_equal(f->len, HDR);
	for (i = 0; i < n; i++) {
		assert_true(f->len + STATEFILE_REC_MAX + TRL <= FILE_MAX);
		f->len += statefile_put(&w, f->b + f->len, &recs[i]);
	}
	assert_int_equal(w.records, n);
	f->len += statefile_end(&w, f->b + f->len);
}

/* The standard two-record file: one IPv4, one IPv6 connection. */
static void build_pair(struct file *f)
{
	struct statefile_header h = header();
	struct statefile_rec recs[2] = { rec_v4(0), rec_v6(0) };

	build(f, &h, recs, 2);
}

/* Writes a big-endian value of n bytes at p. */
static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* Reads a big-endian value of n bytes at p. */
static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* Recomputes the trailer's checksum after an edit of f's contents. */
static void fix_crc(struct file *f)
{
	size_t end = f->len - TRL;

	put_be(f->b + end + 16, statefile_crc32c(0, f->b, end), 4);
}

/* Inserts n copies of byte c at offset off. */
static void insert(struct file *f, size_t off, size_t n, uint8_t c)
{
	assert_true(f->len + n <= FILE_MAX);
	memmove(f->b + off + n, f->b + off, f->len - off);
	memset(f->b + off, c, n);
	f->len += n;
}

/* Removes n bytes at offset off. */
static void cut(struct file *f, size_t off, size_t n)
{
	memmove(f->b + off, f->b + off + n, f->len - off - n);
	f->len -= n;
}

/* Decodes len bytes from an exact-size heap copy (so that a sanitizer
 * sees any read past the end) and returns the result. */
static long decode_copy(const uint8_t *buf, size_t len, struct got *g,
			char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct statefile_header h;
	long n;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	n = statefile_decode(copy, len, &h, collect, g, err, errlen);
	free(copy);
	return n;
}

/* Asserts that f is refused, that no record was handed out, and that the
 * reason is one line containing want (when given). */
static void assert_refused_bytes(const uint8_t *buf, size_t len,
				 const char *want)
{
	struct got g;
	char err[256];

	memset(&g, 0, sizeof(g));
	memset(err, 'x', sizeof(err));
	assert_int_equal(decode_copy(buf, len, &g, err, sizeof(err)), -1);
	assert_int_equal(g.calls, 0);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	if (want && strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

/* The same for a whole file. */
static void assert_refused(const struct file *f, const char *want)
{
	assert_refused_bytes(f->b, f->len, want);
}

/* Decodes f, asserting success with n records. */
static void assert_decodes(const struct file *f, struct got *g, long n)
{
	char err[256] = "";

	memset(g, 0, sizeof(*g));
	if (decode_copy(f->b, f->len, g, err, sizeof(err)) != n)
		fail_msg("decode failed: %s", err);
	assert_int_equal(g->calls, n);
}

/* The check value of CRC-32C, continuation, and the table against the
 * bit-by-bit definition. */
static void test_crc32c(void **state)
{
	static const char check[] = "123456789";
	uint8_t buf[512];
	uint32_t crc, ref;
	unsigned i, k;

	assert_int_equal(statefile_crc32c(0, check, 9), 0xE3069283u);
	assert_int_equal(statefile_crc32c(statefile_crc32c(0, check, 4),
					  check + 4, 5), 0xE3069283u);
	assert_int_equal(statefile_crc32c(0, NULL, 0), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 3));
	ref = 0xFFFFFFFFu;
	for (i = 0; i < sizeof(buf); i++) {
		ref ^= buf[i];
		for (k = 0; k < 8; k++)
			ref = (ref & 1) ? (ref >> 1) ^ 0x82F63B78u : ref >> 1;
	}
	crc = statefile_crc32c(0, buf, sizeof(buf));
	assert_int_equal(crc, ~ref);
}

/* IPv4 and IPv6 records and the header come back field by field. */
static void test_round_trip(void **state)
{
	struct statefile_header h = header(), back;
	struct statefile_rec recs[4] = {
		rec_v4(0), rec_v6(0), rec_v6(1), rec_v4(1),
	};
	struct file f;
	struct got g;
	char err[128] = "";
	unsigned i;

	recs[3].has_seen = false;
	recs[3].flags = 0;
	recs[3].proto = 1;
	build(&f, &h, recs, 4);
	assert_int_equal(f.len, HDR + 2 * V4_LEN + 2 * V6_LEN + TRL);
	memset(&g, 0, sizeof(g));
	memset(&back, 0xEE, sizeof(back));
	assert_int_equal(statefile_decode(f.b, f.len, &back, collect, &g, err,
					  sizeof(err)), 4);
	assert_string_equal(err, "");
	assert_int_equal(g.calls, 4);
	for (i = 0; i < 4; i++)
		assert_rec_equal(&g.recs[i], &recs[i]);
	assert_int_equal(back.version, STATEFILE_VERSION);
	assert_int_equal(back.flags, h.flags);
	assert_memory_equal(back.boot_id, h.boot_id, sizeof(h.boot_id));
	assert_int_equal(back.written_real_ns, h.written_real_ns);
	assert_int_equal(back.written_boot_ns, h.written_boot_ns);
	assert_int_equal(back.netns, h.netns);

	/* Without a callback or a header the file is only checked. */
	assert_int_equal(statefile_decode(f.b, f.len, NULL, NULL, NULL, NULL,
					  0), 4);
}

/* Asserts the fields common to both families at their offsets in the
 * record at p. */
static void assert_common_layout(const uint8_t *p,
				 const struct statefile_rec *r, size_t len)
{
	assert_int_equal(get_be(p + 0, 2), len);
	assert_int_equal(p[2], r->family);
	assert_int_equal(p[3], r->proto);
	assert_int_equal(p[4], r->tcp_state);
	assert_int_equal(p[5], r->has_seen);
	assert_int_equal(get_be(p + 6, 2), r->zone);
	assert_int_equal(get_be(p + 8, 2), r->flags);
	assert_int_equal(get_be(p + 10, 2), r->orig.sport);
	assert_int_equal(get_be(p + 12, 2), r->orig.dport);
	assert_int_equal(get_be(p + 14, 2), r->reply.sport);
	assert_int_equal(get_be(p + 16, 2), r->reply.dport);
	assert_int_equal(get_be(p + 18, 2), 0);
	assert_int_equal(get_be(p + 20, 4), r->id);
	assert_int_equal(get_be(p + 24, 4), r->kstart);
	assert_int_equal(get_be(p + 28, 4), r->exports);
	assert_int_equal(get_be(p + 32, 8), r->start_ms);
	assert_int_equal(get_be(p + 40, 8), r->sent_orig_packets);
	assert_int_equal(get_be(p + 48, 8), r->sent_orig_bytes);
	assert_int_equal(get_be(p + 56, 8), r->sent_reply_packets);
	assert_int_equal(get_be(p + 64, 8), r->sent_reply_bytes);
	assert_int_equal(get_be(p + 72, 8), r->last_end_ns);
	assert_int_equal(get_be(p + 80, 8), r->last_end_real_ms);
	assert_int_equal(get_be(p + 88, 8), r->seen_orig_packets);
	assert_int_equal(get_be(p + 96, 8), r->seen_orig_bytes);
	assert_int_equal(get_be(p + 104, 8), r->seen_reply_packets);
	assert_int_equal(get_be(p + 112, 8), r->seen_reply_bytes);
	assert_int_equal(get_be(p + 120, 8), r->seen_boot_ns);
}

/* The documented offsets: header, a compact IPv4 record, an IPv6 record
 * with its address blocks, trailer. */
static void test_layout(void **state)
{
	struct statefile_header h = header();
	struct statefile_rec recs[2] = { rec_v4(0), rec_v6(0) };
	struct file f;
	const uint8_t *p = f.b + HDR, *t;
	unsigned i;

	recs[1].has_seen = true;
	recs[1].seen_orig_bytes = 0x1234;
	build(&f, &h, recs, 2);
	assert_int_equal(f.len, HDR + V4_LEN + V6_LEN + TRL);
	assert_memory_equal(f.b, "NFFLOWDS", 8);
	assert_int_equal(get_be(f.b + 8, 4), STATEFILE_VERSION);
	assert_int_equal(get_be(f.b + 12, 4), STATEFILE_F_CLEAN);
	assert_memory_equal(f.b + 16, h.boot_id, 16);
	assert_int_equal(get_be(f.b + 32, 8), h.written_real_ns);
	assert_int_equal(get_be(f.b + 40, 8), h.written_boot_ns);
	assert_int_equal(get_be(f.b + 48, 8), h.netns);
	for (i = 56; i < HDR; i++)
		assert_int_equal(f.b[i], 0);

	assert_common_layout(p, &recs[0], V4_LEN);
	assert_int_equal(get_be(p + 128, 4), recs[0].orig.src);
	assert_int_equal(get_be(p + 132, 4), recs[0].orig.dst);
	assert_int_equal(get_be(p + 136, 4), recs[0].reply.src);
	assert_int_equal(get_be(p + 140, 4), recs[0].reply.dst);

	p += V4_LEN;
	assert_common_layout(p, &recs[1], V6_LEN);
	assert_memory_equal(p + 128, recs[1].orig6.src, 16);
	assert_memory_equal(p + 144, recs[1].orig6.dst, 16);
	assert_memory_equal(p + 160, recs[1].reply6.src, 16);
	assert_memory_equal(p + 176, recs[1].reply6.dst, 16);

	t = f.b + f.len - TRL;
	assert_memory_equal(t, "NFFLOWDE", 8);
	assert_int_equal(get_be(t + 8, 8), 2);
	assert_int_equal(get_be(t + 16, 4),
			 statefile_crc32c(0, f.b, f.len - TRL));
	assert_int_equal(get_be(t + 20, 4), 0);
}

/* A file with no records is the header and the trailer alone. */
static void test_zero_records(void **state)
{
	struct statefile_header h = header(), back;
	struct file f;
	struct got g;
	char err[128] = "";

	build(&f, &h, NULL, 0);
	assert_int_equal(f.len, HDR + TRL);
	memset(&g, 0, sizeof(g));
	assert_int_equal(statefile_decode(f.b, f.len, &back, collect, &g, err,
					  sizeof(err)), 0);
	assert_int_equal(g.calls, 0);
	assert_int_equal(back.written_real_ns, h.written_real_ns);
	assert_int_equal(get_be(f.b + f.len - TRL + 8, 8), 0);
}

/* Any one byte changed anywhere, in any of several ways, is refused. */
static void test_flip_any_byte(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xFF, 0x5A };
	struct file f, bad;
	size_t i;
	unsigned m;

	build_pair(&f);
	for (i = 0; i < f.len; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			bad = f;
			bad.b[i] ^= masks[m];
			assert_refused(&bad, NULL);
		}
	}
}

/* Every proper prefix of a file is refused, and so is a longer file. */
static void test_truncate_every_length(void **state)
{
	struct file f;
	size_t n;

	build_pair(&f);
	for (n = 0; n < f.len; n++)
		assert_refused_bytes(f.b, n, NULL);
	assert_refused_bytes(f.b, 0, "truncated");
	assert_refused_bytes(f.b, HDR + TRL - 1, "truncated");
	assert_refused_bytes(f.b, f.len - 1, "trailer");
	/* bytes appended after the trailer hide it */
	insert(&f, f.len, 3, 0);
	assert_refused(&f, "trailer");
}

/* A changed count is named, whichever way it is off; the checksum does
 * not cover the trailer, so this is the count check's own work. */
static void test_count(void **state)
{
	struct file f, bad;
	size_t c;

	build_pair(&f);
	c = f.len - TRL + 8;
	bad = f;
	put_be(bad.b + c, 3, 8);
	assert_refused(&bad, "count 3 but 2 records");
	bad = f;
	put_be(bad.b + c, UINT64_MAX, 8);
	assert_refused(&bad, "but 2 records");
	bad = f;
	put_be(bad.b + c, 1, 8);
	assert_refused(&bad, "after the last of 1 records");
	bad = f;
	put_be(bad.b + c, 0, 8);
	assert_refused(&bad, "after the last of 0 records");
}

/* A changed byte that leaves every field valid is caught by the checksum,
 * and so is a changed checksum. */
static void test_checksum(void **state)
{
	struct file f, bad;

	build_pair(&f);
	bad = f;
	bad.b[HDR + 50] ^= 0x10;	/* a sent counter of record 1 */
	assert_refused(&bad, "checksum mismatch");
	bad = f;
	bad.b[48] = 1;			/* reserved header byte */
	assert_refused(&bad, "checksum mismatch");
	bad = f;
	bad.b[f.len - TRL + 19] ^= 1;
	assert_refused(&bad, "checksum mismatch");
	bad = f;
	bad.b[f.len - 1] = 1;		/* reserved trailer field */
	assert_refused(&bad, "reserved");
}

/* Another version is refused by number, even with a sound checksum. */
static void test_foreign_version(void **state)
{
	static const uint32_t versions[] = { 0, 2, 7, 0xFFFFFFFFu };
	struct file f, bad;
	char want[64];
	unsigned i;

	build_pair(&f);
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		bad = f;
		put_be(bad.b + 8, versions[i], 4);
		fix_crc(&bad);
		snprintf(want, sizeof(want), "version %lu (this release reads %d)",
			 (unsigned long)versions[i], STATEFILE_VERSION);
		assert_refused(&bad, want);
	}

	/* the exact line, and a short buffer that cuts it */
	{
		struct got g;
		char err[64], tiny[8];

		bad = f;
		put_be(bad.b + 8, 7, 4);
		fix_crc(&bad);
		memset(&g, 0, sizeof(g));
		assert_int_equal(statefile_decode(bad.b, bad.len, NULL,
						  collect, &g, err,
						  sizeof(err)), -1);
		assert_string_equal(err, "version 7 (this release reads 1)");
		assert_int_equal(statefile_decode(bad.b, bad.len, NULL,
						  collect, &g, tiny,
						  sizeof(tiny)), -1);
		assert_string_equal(tiny, "version");
		assert_int_equal(statefile_decode(bad.b, bad.len, NULL,
						  collect, &g, NULL, 0), -1);
		assert_int_equal(g.calls, 0);
	}
}

/* Bytes of something else are not a state file. */
static void test_not_a_state_file(void **state)
{
	static const char json[] = "{\"source\": \"192.0.2.1\", \"collector\": "
		"\"198.51.100.1\", \"port\": 2055, \"ttl\": 60, "
		"\"flush_interval\": 1}";
	struct file f;

	assert_refused_bytes((const uint8_t *)json, sizeof(json) - 1,
			     "not a state file");
	assert_refused_bytes((const uint8_t *)"NFF", 3, "truncated");
	build_pair(&f);
	f.b[7] = 'E';
	assert_refused(&f, "not a state file");
}

/* A record longer than this release knows (a later one's extra fields)
 * is read for the fields it knows; the tail is skipped. */
static void test_extended_record_accepted(void **state)
{
	struct statefile_rec recs[3] = { rec_v4(0), rec_v6(0), rec_v4(9) };
	struct statefile_header h = header();
	struct file f;
	struct got g;
	unsigned i;

	build(&f, &h, recs, 3);
	/* record 1 (IPv4) grows by 20 bytes, record 2 (IPv6) by 61 */
	insert(&f, HDR + V4_LEN, 20, 0xAB);
	put_be(f.b + HDR, V4_LEN + 20, 2);
	insert(&f, HDR + V4_LEN + 20 + V6_LEN, 61, 0xCD);
	put_be(f.b + HDR + V4_LEN + 20, V6_LEN + 61, 2);
	assert_refused(&f, "checksum mismatch");
	fix_crc(&f);
	assert_decodes(&f, &g, 3);
	for (i = 0; i < 3; i++)
		assert_rec_equal(&g.recs[i], &recs[i]);

	/* the same bytes without the length raised are extra records */
	put_be(f.b + HDR, V4_LEN, 2);
	fix_crc(&f);
	assert_refused(&f, "record 2 at offset 208");
}

/* A record shorter than the fields of its family is refused, as is one
 * that runs into the trailer. */
static void test_short_record_refused(void **state)
{
	struct statefile_rec r4 = rec_v4(0), r6 = rec_v6(0);
	struct statefile_header h = header();
	struct file f;

	/* an IPv6 record cut to the size of an IPv4 one */
	build(&f, &h, &r6, 1);
	cut(&f, HDR + V4_LEN, V6_LEN - V4_LEN);
	put_be(f.b + HDR, V4_LEN, 2);
	fix_crc(&f);
	assert_refused(&f, "record 1 at offset 64: length 144 too short for "
		       "IPv6 (needs 192)");

	/* an IPv6 record one byte short */
	build(&f, &h, &r6, 1);
	cut(&f, HDR + V6_LEN - 1, 1);
	put_be(f.b + HDR, V6_LEN - 1, 2);
	fix_crc(&f);
	assert_refused(&f, "too short for IPv6");

	/* an IPv4 record one byte short */
	build(&f, &h, &r4, 1);
	cut(&f, HDR + V4_LEN - 1, 1);
	put_be(f.b + HDR, V4_LEN - 1, 2);
	fix_crc(&f);
	assert_refused(&f, "length 143 too short for IPv4 (needs 144)");

	/* lengths too small to hold even the family */
	build(&f, &h, &r4, 1);
	put_be(f.b + HDR, 0, 2);
	fix_crc(&f);
	assert_refused(&f, "length 0 too short");
	put_be(f.b + HDR, 2, 2);
	fix_crc(&f);
	assert_refused(&f, "length 2 too short");

	/* a length past the trailer */
	put_be(f.b + HDR, V4_LEN + 1, 2);
	fix_crc(&f);
	assert_refused(&f, "runs past the trailer");
}

/* Stray bytes between the last record and the trailer are refused, even
 * when they would pass as the start of nothing. */
static void test_trailing_garbage(void **state)
{
	struct file f, bad;

	build_pair(&f);
	bad = f;
	insert(&bad, bad.len - TRL, 1, 0);
	fix_crc(&bad);
	assert_refused(&bad, "1 bytes after the last of 2 records");
	bad = f;
	insert(&bad, bad.len - TRL, V4_LEN, 0);
	fix_crc(&bad);
	assert_refused(&bad, "after the last of 2 records");
}

/* Rewrites byte off of record 1 to v (fixing the checksum) and expects
 * the reason want. */
static void refuse_value(const struct file *f, size_t off, uint8_t v,
			 const char *want)
{
	struct file bad = *f;

	bad.b[HDR + off] = v;
	fix_crc(&bad);
	assert_refused(&bad, want);
}

/* Each value check: family, protocol, has_seen, flags; zone takes any. */
static void test_values(void **state)
{
	struct statefile_rec r = rec_v4(0);
	struct statefile_header h = header();
	struct file f, ok;
	struct got g;

	build(&f, &h, &r, 1);
	refuse_value(&f, 2, 0, "record 1 at offset 64: bad family 0");
	refuse_value(&f, 2, 3, "bad family 3");
	refuse_value(&f, 2, 28, "bad family 28");
	refuse_value(&f, 3, 0, "bad protocol 0");
	refuse_value(&f, 5, 2, "bad has_seen 2");
	refuse_value(&f, 5, 0xFF, "bad has_seen 255");
	refuse_value(&f, 9, FLOW_F_SEEN, "unknown flags 0x4");
	refuse_value(&f, 9, FLOW_F_ACTIVE | 1, "unknown flags 0x11");
	refuse_value(&f, 8, 0x80, "unknown flags 0x8003");
	/* an IPv4 record relabelled IPv6 is too short for it */
	refuse_value(&f, 2, AF_INET6, "too short for IPv6");

	/* zone, proto 255, tcp_state and the reserved u16 take any value */
	ok = f;
	ok.b[HDR + 6] = 0xFF;
	ok.b[HDR + 7] = 0xFF;
	ok.b[HDR + 3] = 255;
	ok.b[HDR + 4] = 0xEE;
	ok.b[HDR + 18] = 0x12;
	fix_crc(&ok);
	assert_decodes(&ok, &g, 1);
	assert_int_equal(g.recs[0].zone, 0xFFFF);
	assert_int_equal(g.recs[0].proto, 255);
	assert_int_equal(g.recs[0].tcp_state, 0xEE);
}

/* A bad record late in a file stops everything: no record is handed out,
 * not even the good ones before it. */
static void test_late_error_delivers_nothing(void **state)
{
	struct statefile_rec recs[MAX_RECS];
	struct statefile_header h = header();
	struct file f;
	unsigned i;
	size_t last;

	for (i = 0; i < 20; i++)
		recs[i] = i % 3 ? rec_v4(i) : rec_v6(i);
	build(&f, &h, recs, 20);
	last = f.len - TRL - V4_LEN;	/* record 20 is IPv4 */
	f.b[last + 3] = 0;
	fix_crc(&f);
	assert_refused(&f, "record 20 at offset");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_zero_records),
		cmocka_unit_test(test_flip_any_byte),
		cmocka_unit_test(test_truncate_every_length),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_foreign_version),
		cmocka_unit_test(test_not_a_state_file),
		cmocka_unit_test(test_extended_record_accepted),
		cmocka_unit_test(test_short_record_refused),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_late_error_delivers_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
