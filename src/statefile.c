/* The interim-export state file (pure): header, length-prefixed records
 * and a checksummed trailer, written and read with explicit big-endian
 * byte stores and loads, no struct overlays and no allocation.
 *
 * Header (64 bytes):
 *    0  magic "NFFLOWDS"        8  u32 version       12  u32 flags
 *   16  boot id (16 bytes)     32  u64 written_real_ns
 *   40  u64 written_boot_ns    48  u64 netns
 *   56  reserved, written zero (8 bytes)
 * Header flags are handed through as read; the reserved bytes are not
 * looked at (the checksum covers them).
 *
 * Record (version 1): a fixed part common to both families, then the
 * addresses in the size of the family. A later release appends new fields
 * after these and raises the length; this one skips any bytes past the
 * fields it knows, and refuses a record shorter than its family needs.
 *    0  u16 length of the whole record, this field included
 *    2  u8 family    3  u8 proto    4  u8 tcp_state    5  u8 has_seen
 *    6  u16 zone     8  u16 flags
 *   10  u16 orig sport   12  u16 orig dport
 *   14  u16 reply sport  16  u16 reply dport
 *   18  u16 reserved, written zero, ignored when read
 *   20  u32 id           24  u32 kstart       28  u32 exports
 *   32  u64 start_ms
 *   40  u64 sent_orig_packets    48  u64 sent_orig_bytes
 *   56  u64 sent_reply_packets   64  u64 sent_reply_bytes
 *   72  u64 last_end_ns          80  u64 last_end_real_ms
 *   88  u64 seen_orig_packets    96  u64 seen_orig_bytes
 *  104  u64 seen_reply_packets  112  u64 seen_reply_bytes
 *  120  u64 seen_boot_ns
 *  128  AF_INET:  u32 orig src, orig dst, reply src, reply dst  (144 bytes)
 *       AF_INET6: 16 bytes each, the same order                 (192 bytes)
 *
 * Trailer (24 bytes):
 *    0  magic "NFFLOWDE"   8  u64 record count
 *   16  u32 CRC-32C of every byte before the trailer   20  u32 reserved 0 */
#include "nfflowd/statefile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nfflowd/bytes.h"

#define MAGIC_LEN 8
static const char head_magic[] = "NFFLOWDS";
static const char tail_magic[] = "NFFLOWDE";

/* Header offsets. */
#define H_VERSION 8
#define H_FLAGS 12
#define H_BOOT_ID 16
#define H_REAL_NS 32
#define H_BOOT_NS 40
#define H_NETNS 48
#define H_RESERVED 56

/* Record offsets. */
#define R_LEN 0
#define R_FAMILY 2
#define R_PROTO 3
#define R_TCP_STATE 4
#define R_HAS_SEEN 5
#define R_ZONE 6
#define R_FLAGS 8
#define R_ORIG_SPORT 10
#define R_ORIG_DPORT 12
#define R_REPLY_SPORT 14
#define R_REPLY_DPORT 16
#define R_RESERVED 18
#define R_ID 20
#define R_KSTART 24
#define R_EXPORTS 28
#define R_START_MS 32
#define R_SENT_ORIG_PACKETS 40
#define R_SENT_ORIG_BYTES 48
#define R_SENT_REPLY_PACKETS 56
#define R_SENT_REPLY_BYTES 64
#define R_LAST_END_NS 72
#define R_LAST_END_REAL_MS 80
#define R_SEEN_ORIG_PACKETS 88
#define R_SEEN_ORIG_BYTES 96
#define R_SEEN_REPLY_PACKETS 104
#define R_SEEN_REPLY_BYTES 112
#define R_SEEN_BOOT_NS 120
#define R_ADDR 128
#define R_V4_SIZE (R_ADDR + 4 * 4)
#define R_V6_SIZE (R_ADDR + 4 * 16)

/* Trailer offsets. */
#define T_COUNT 8
#define T_CRC 16
#define T_RESERVED 20


_Static_assert(R_V6_SIZE <= STATEFILE_REC_MAX, "STATEFILE_REC_MAX too small");
_Static_assert(H_RESERVED <= STATEFILE_HEADER_SIZE, "header overflows");

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one entry per
 * byte value. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

/* Continues a CRC-32C over len more bytes, one table lookup per byte. */
uint32_t statefile_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* Writes the header of a new file and starts its checksum and count. */
size_t statefile_begin(struct statefile_writer *w, uint8_t *buf,
		       const struct statefile_header *h)
{
	/* Always the version this encoder writes; h->version is what a
	 * decode read back. */
	memcpy(buf, head_magic, MAGIC_LEN);
	be_put32(buf + H_VERSION, STATEFILE_VERSION);
	be_put32(buf + H_FLAGS, h->flags);
	memcpy(buf + H_BOOT_ID, h->boot_id, sizeof(h->boot_id));
	be_put64(buf + H_REAL_NS, h->written_real_ns);
	be_put64(buf + H_BOOT_NS, h->written_boot_ns);
	be_put64(buf + H_NETNS, h->netns);
	memset(buf + H_RESERVED, 0, STATEFILE_HEADER_SIZE - H_RESERVED);
	w->crc = statefile_crc32c(0, buf, STATEFILE_HEADER_SIZE);
	w->records = 0;
	return STATEFILE_HEADER_SIZE;
}

/* Appends one record in the form of its family. */
size_t statefile_put(struct statefile_writer *w, uint8_t *buf,
		     const struct statefile_rec *r)
{
	/* Anything but AF_INET6 takes the IPv4 form; a family the reader
	 * does not know is refused there. */
	size_t len = r->family == AF_INET6 ? R_V6_SIZE : R_V4_SIZE;

	be_put16(buf + R_LEN, (uint16_t)len);
	buf[R_FAMILY] = r->family;
	buf[R_PROTO] = r->proto;
	buf[R_TCP_STATE] = r->tcp_state;
	buf[R_HAS_SEEN] = r->has_seen ? 1 : 0;
	be_put16(buf + R_ZONE, r->zone);
	be_put16(buf + R_FLAGS, r->flags);
	be_put16(buf + R_ORIG_SPORT, r->orig.sport);
	be_put16(buf + R_ORIG_DPORT, r->orig.dport);
	be_put16(buf + R_REPLY_SPORT, r->reply.sport);
	be_put16(buf + R_REPLY_DPORT, r->reply.dport);
	be_put16(buf + R_RESERVED, 0);
	be_put32(buf + R_ID, r->id);
	be_put32(buf + R_KSTART, r->kstart);
	be_put32(buf + R_EXPORTS, r->exports);
	be_put64(buf + R_START_MS, r->start_ms);
	be_put64(buf + R_SENT_ORIG_PACKETS, r->sent_orig_packets);
	be_put64(buf + R_SENT_ORIG_BYTES, r->sent_orig_bytes);
	be_put64(buf + R_SENT_REPLY_PACKETS, r->sent_reply_packets);
	be_put64(buf + R_SENT_REPLY_BYTES, r->sent_reply_bytes);
	be_put64(buf + R_LAST_END_NS, r->last_end_ns);
	be_put64(buf + R_LAST_END_REAL_MS, r->last_end_real_ms);
	be_put64(buf + R_SEEN_ORIG_PACKETS, r->seen_orig_packets);
	be_put64(buf + R_SEEN_ORIG_BYTES, r->seen_orig_bytes);
	be_put64(buf + R_SEEN_REPLY_PACKETS, r->seen_reply_packets);
	be_put64(buf + R_SEEN_REPLY_BYTES, r->seen_reply_bytes);
	be_put64(buf + R_SEEN_BOOT_NS, r->seen_boot_ns);
	if (len == R_V6_SIZE) {
		memcpy(buf + R_ADDR, r->orig6.src, 16);
		memcpy(buf + R_ADDR + 16, r->orig6.dst, 16);
		memcpy(buf + R_ADDR + 32, r->reply6.src, 16);
		memcpy(buf + R_ADDR + 48, r->reply6.dst, 16);
	} else {
		be_put32(buf + R_ADDR, r->orig.src);
		be_put32(buf + R_ADDR + 4, r->orig.dst);
		be_put32(buf + R_ADDR + 8, r->reply.src);
		be_put32(buf + R_ADDR + 12, r->reply.dst);
	}
	w->crc = statefile_crc32c(w->crc, buf, len);
	w->records++;
	return len;
}

/* Closes the file with its count and checksum. */
size_t statefile_end(struct statefile_writer *w, uint8_t *buf)
{
	memcpy(buf, tail_magic, MAGIC_LEN);
	be_put64(buf + T_COUNT, w->records);
	be_put32(buf + T_CRC, w->crc);
	be_put32(buf + T_RESERVED, 0);
	return STATEFILE_TRAILER_SIZE;
}

/* Writes one line into err (when there is one) and returns -1. */
__attribute__((format(printf, 3, 4)))
static long fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Checks the record that starts at p, with rem bytes before the trailer;
 * returns its length, or 0 with the reason in err. */
static size_t check_record(const uint8_t *p, size_t rem, unsigned long n,
			   size_t off, char *err, size_t errlen)
{
	size_t len, need;
	unsigned flags;

	if (rem < 2) {
		fail(err, errlen, "record %lu at offset %zu: truncated", n, off);
		return 0;
	}
	len = be_get16(p + R_LEN);
	if (len > rem) {
		fail(err, errlen, "record %lu at offset %zu: length %zu runs "
		     "past the trailer", n, off, len);
		return 0;
	}
	if (len <= R_FAMILY) {
		fail(err, errlen, "record %lu at offset %zu: length %zu too "
		     "short", n, off, len);
		return 0;
	}
	if (p[R_FAMILY] == AF_INET) {
		need = R_V4_SIZE;
	} else if (p[R_FAMILY] == AF_INET6) {
		need = R_V6_SIZE;
	} else {
		fail(err, errlen, "record %lu at offset %zu: bad family %u",
		     n, off, (unsigned)p[R_FAMILY]);
		return 0;
	}
	if (len < need) {
		fail(err, errlen, "record %lu at offset %zu: length %zu too "
		     "short for %s (needs %zu)", n, off, len,
		     need == R_V6_SIZE ? "IPv6" : "IPv4", need);
		return 0;
	}
	if (p[R_PROTO] == 0) {
		fail(err, errlen, "record %lu at offset %zu: bad protocol 0",
		     n, off);
		return 0;
	}
	if (p[R_HAS_SEEN] > 1) {
		fail(err, errlen, "record %lu at offset %zu: bad has_seen %u",
		     n, off, (unsigned)p[R_HAS_SEEN]);
		return 0;
	}
	flags = be_get16(p + R_FLAGS);
	if (flags & ~(unsigned)STATEFILE_REC_FLAGS) {
		fail(err, errlen, "record %lu at offset %zu: unknown flags "
		     "0x%x", n, off, flags);
		return 0;
	}
	return len;
}

/* Fills r from a record check_record accepted. */
static void read_record(const uint8_t *p, struct statefile_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->family = p[R_FAMILY];
	r->proto = p[R_PROTO];
	r->tcp_state = p[R_TCP_STATE];
	r->has_seen = p[R_HAS_SEEN] != 0;
	r->zone = be_get16(p + R_ZONE);
	r->flags = be_get16(p + R_FLAGS);
	r->orig.sport = be_get16(p + R_ORIG_SPORT);
	r->orig.dport = be_get16(p + R_ORIG_DPORT);
	r->reply.sport = be_get16(p + R_REPLY_SPORT);
	r->reply.dport = be_get16(p + R_REPLY_DPORT);
	r->id = be_get32(p + R_ID);
	r->kstart = be_get32(p + R_KSTART);
	r->exports = be_get32(p + R_EXPORTS);
	r->start_ms = be_get64(p + R_START_MS);
	r->sent_orig_packets = be_get64(p + R_SENT_ORIG_PACKETS);
	r->sent_orig_bytes = be_get64(p + R_SENT_ORIG_BYTES);
	r->sent_reply_packets = be_get64(p + R_SENT_REPLY_PACKETS);
	r->sent_reply_bytes = be_get64(p + R_SENT_REPLY_BYTES);
	r->last_end_ns = be_get64(p + R_LAST_END_NS);
	r->last_end_real_ms = be_get64(p + R_LAST_END_REAL_MS);
	r->seen_orig_packets = be_get64(p + R_SEEN_ORIG_PACKETS);
	r->seen_orig_bytes = be_get64(p + R_SEEN_ORIG_BYTES);
	r->seen_reply_packets = be_get64(p + R_SEEN_REPLY_PACKETS);
	r->seen_reply_bytes = be_get64(p + R_SEEN_REPLY_BYTES);
	r->seen_boot_ns = be_get64(p + R_SEEN_BOOT_NS);
	if (r->family == AF_INET6) {
		memcpy(r->orig6.src, p + R_ADDR, 16);
		memcpy(r->orig6.dst, p + R_ADDR + 16, 16);
		memcpy(r->reply6.src, p + R_ADDR + 32, 16);
		memcpy(r->reply6.dst, p + R_ADDR + 48, 16);
	} else {
		r->orig.src = be_get32(p + R_ADDR);
		r->orig.dst = be_get32(p + R_ADDR + 4);
		r->reply.src = be_get32(p + R_ADDR + 8);
		r->reply.dst = be_get32(p + R_ADDR + 12);
	}
}

/* Validates a whole file, then hands out its records (fn may be NULL to
 * validate only). */
long statefile_decode(const uint8_t *buf, size_t len,
		      struct statefile_header *h, statefile_rec_fn fn,
		      void *arg, char *err, size_t errlen)
{
	const uint8_t *tail;
	size_t end, pos, rlen;
	uint64_t count;
	uint32_t version, crc, want;
	unsigned long n, i;
	struct statefile_rec r;

	if (len >= MAGIC_LEN && memcmp(buf, head_magic, MAGIC_LEN) != 0)
		return fail(err, errlen, "not a state file");
	if (len < STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE)
		return fail(err, errlen, "truncated (%zu bytes, at least %d "
			    "expected)", len,
			    STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE);
	version = be_get32(buf + H_VERSION);
	if (version != STATEFILE_VERSION)
		return fail(err, errlen, "version %lu (this release reads %d)",
			    (unsigned long)version, STATEFILE_VERSION);
	end = len - STATEFILE_TRAILER_SIZE;
	tail = buf + end;
	if (memcmp(tail, tail_magic, MAGIC_LEN) != 0)
		return fail(err, errlen, "truncated (no trailer at the end)");
	if (be_get32(tail + T_RESERVED) != 0)
		return fail(err, errlen, "trailer: reserved field not zero");
	want = be_get32(tail + T_CRC);
	crc = statefile_crc32c(0, buf, end);
	if (crc != want)
		return fail(err, errlen, "checksum mismatch (file says %08lx, "
			    "contents give %08lx)", (unsigned long)want,
			    (unsigned long)crc);

	/* Every record is checked before the first is handed out. */
	count = be_get64(tail + T_COUNT);
	pos = STATEFILE_HEADER_SIZE;
	for (n = 0; pos < end && n < count; n++) {
		rlen = check_record(buf + pos, end - pos, n + 1, pos, err,
				    errlen);
		if (rlen == 0)
			return -1;
		pos += rlen;
	}
	if (n < count)
		return fail(err, errlen, "record count %llu but %lu records "
			    "found", (unsigned long long)count, n);
	if (pos < end)
		return fail(err, errlen, "%zu bytes after the last of %lu "
			    "records", end - pos, n);

	if (h) {
		h->version = version;
		h->flags = be_get32(buf + H_FLAGS);
		memcpy(h->boot_id, buf + H_BOOT_ID, sizeof(h->boot_id));
		h->written_real_ns = be_get64(buf + H_REAL_NS);
		h->written_boot_ns = be_get64(buf + H_BOOT_NS);
		h->netns = be_get64(buf + H_NETNS);
	}
	pos = STATEFILE_HEADER_SIZE;
	for (i = 0; i < n; i++) {
		read_record(buf + pos, &r);
		if (fn)
			fn(&r, arg);
		pos += be_get16(buf + pos + R_LEN);
	}
	return (long)n;
}
