/* The interim-export state file (pure): the live table's export state
 * turned into bytes and back, so that a restarted daemon neither exports
 * again what an earlier one exported nor forgets connections that ended
 * while no daemon listened. The daemon writes it atomically (temporary
 * file, fsync, rename) at a clean stop and as a checkpoint while running;
 * this module only encodes and decodes, with no I/O.
 *
 * Layout (all integers big-endian):
 *   header   magic "NFFLOWDS", version, flags, boot id, write times,
 *            network namespace
 *   records  one per connection, each with its own length
 *   trailer  magic "NFFLOWDE", record count, CRC-32C of all bytes before
 * A reader checks the trailer before it hands out a single record, so a
 * truncated or corrupt file is refused whole. */
#ifndef NFFLOWD_STATEFILE_H
#define NFFLOWD_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/flowtab.h"
#include "nfflowd/types.h"

/* The format written now. A reader takes this version and the one
 * before it (none yet: 1 is the first); any other is refused. */
#define STATEFILE_VERSION 1
#define STATEFILE_HEADER_SIZE 64
#define STATEFILE_TRAILER_SIZE 24
/* Largest encoded record (an IPv6 connection with every field). */
#define STATEFILE_REC_MAX 256
/* The entry flags a record may carry: what outlives the daemon (how the
 * start was known, whether the connection began with a SYN, whether its
 * NAT create event was sent). */
#define STATEFILE_REC_FLAGS (FLOW_F_FROM_DUMP | FLOW_F_KERNEL_START | \
			     FLOW_F_SYN | FLOW_F_NAT_SENT)

/* Header flags. */
#define STATEFILE_F_CLEAN 0x1	/* written at a clean stop: the seen
				 * counters were read from the kernel then */

struct statefile_header {
	uint32_t version;
	uint32_t flags;			/* STATEFILE_F_* */
	uint8_t boot_id[16];		/* /proc/sys/kernel/random/boot_id */
	uint64_t written_real_ns;	/* CLOCK_REALTIME at writing */
	uint64_t written_boot_ns;	/* CLOCK_BOOTTIME at writing */
	uint64_t netns;			/* the writer's network namespace
					 * (inode of /proc/self/ns/net) */
};

/* One connection: what identifies it, what was exported of it so far,
 * and (has_seen) the latest counter reading the daemon had. */
struct statefile_rec {
	uint32_t id;			/* conntrack id */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;
	uint8_t tcp_state;
	uint16_t zone;
	uint16_t flags;			/* FLOW_F_FROM_DUMP, FLOW_F_KERNEL_START */
	uint32_t kstart;		/* flow_entry.kstart */
	uint64_t start_ms;		/* boot-clock ms (flowtab_start_ms) */
	struct ct_tuple orig;
	struct ct_tuple reply;
	struct ct_addr6 orig6;		/* AF_INET6 only, else zero */
	struct ct_addr6 reply6;
	/* the export state: sent counters, end of the last interim export,
	 * exports so far (all zero for a connection never exported) */
	uint64_t sent_orig_packets, sent_orig_bytes;
	uint64_t sent_reply_packets, sent_reply_bytes;
	uint64_t last_end_ns;		/* boot clock */
	uint64_t last_end_real_ms;
	uint32_t exports;
	bool has_seen;			/* the seen_* fields are a reading */
	uint64_t seen_orig_packets, seen_orig_bytes;
	uint64_t seen_reply_packets, seen_reply_bytes;
	uint64_t seen_boot_ns;		/* when it was read */
};

/* Running state of one file being written. */
struct statefile_writer {
	uint32_t crc;
	uint64_t records;
};

/* Writes the header into buf (STATEFILE_HEADER_SIZE bytes) and starts w.
 * Returns the length written. The version written is always
 * STATEFILE_VERSION; h->version is only filled by a decode. */
size_t statefile_begin(struct statefile_writer *w, uint8_t *buf,
		       const struct statefile_header *h);

/* Encodes one record into buf (at least STATEFILE_REC_MAX bytes).
 * Returns its length. */
size_t statefile_put(struct statefile_writer *w, uint8_t *buf,
		     const struct statefile_rec *r);

/* Writes the trailer into buf (STATEFILE_TRAILER_SIZE bytes). Returns its
 * length. */
size_t statefile_end(struct statefile_writer *w, uint8_t *buf);

typedef void (*statefile_rec_fn)(const struct statefile_rec *r, void *arg);

/* Checks a whole file's bytes (magic, version, record lengths and values,
 * count, checksum) and only then calls fn for each record in file order.
 * Returns the number of records, or -1 with one line in err (no newline)
 * saying what is wrong: "truncated", "not a state file", "version 7 (this
 * release reads 1)", "checksum mismatch", "record 12: bad family", ...
 * fn is not called at all for a file that fails. h (filled only on
 * success) and fn may be NULL; err may be NULL. */
long statefile_decode(const uint8_t *buf, size_t len,
		      struct statefile_header *h, statefile_rec_fn fn,
		      void *arg, char *err, size_t errlen);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start at 0). */
uint32_t statefile_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
