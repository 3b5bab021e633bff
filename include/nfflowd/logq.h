/* The record lines that wait for the syslog socket (pure): a bounded FIFO
 * of whole syslog messages, packed into reused chunks, read out as iovecs
 * for one sendmmsg, and the RFC 3164 header that syslog(3) puts in front
 * of each message. */
#ifndef NFFLOWD_LOGQ_H
#define NFFLOWD_LOGQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

/* Longest message a queue takes (header and line): RFC 3164 allows 1024
 * bytes; a record line with its header is under 300. */
#define LOGQ_MSG_MAX 1024
/* Bytes of one chunk; a chunk is allocated only when the ones in use are
 * full, and emptied ones are reused. */
#define LOGQ_CHUNK_BYTES 65536
/* Emptied chunks kept for reuse (1 MiB): a queue that keeps growing and
 * draining by up to this much allocates nothing. */
#define LOGQ_SPARE_CHUNKS 16
/* Longest header logq_header writes. */
#define LOGQ_HEADER_MAX 128

struct logq_chunk;

struct logq {
	struct logq_chunk *first;	/* oldest message here */
	struct logq_chunk *last;	/* new messages go here */
	struct logq_chunk *spare;	/* emptied chunks kept for reuse */
	unsigned nspare;
	uint64_t count;			/* messages waiting */
	uint64_t max;			/* at most this many wait */
	uint64_t chunks;		/* allocated, spare included */
};

/* An empty queue holding at most max messages (max >= 1). */
void logq_init(struct logq *q, uint64_t max);

/* Changes the bound; messages already waiting stay, even above it. */
void logq_set_max(struct logq *q, uint64_t max);

/* Appends one message made of head then body. Returns 0, or -1 when the
 * queue is full, the message longer than LOGQ_MSG_MAX or memory short
 * (nothing is appended then). */
int logq_push(struct logq *q, const char *head, size_t headlen,
	      const char *body, size_t bodylen);

/* Points iov[0..n) at the n oldest messages (n <= max) without removing
 * them; returns n. The pointers stay valid until logq_pop or logq_push. */
unsigned logq_peek(const struct logq *q, struct iovec *iov, unsigned max);

/* Removes the n oldest messages (n <= count). */
void logq_pop(struct logq *q, uint64_t n);

/* Messages waiting. */
static inline uint64_t logq_count(const struct logq *q)
{
	return q->count;
}

/* Bytes the queue holds allocated. */
size_t logq_memory(const struct logq *q);

/* Frees every chunk; the queue is empty (and usable) afterwards. */
void logq_free(struct logq *q);

/* Writes the header syslog(3) puts before a message sent to /dev/log:
 * "<PRI>Mmm dd hh:mm:ss IDENT[PID]: " (RFC 3164 section 4.1, with the day
 * space-padded and the local time given in tm). prival is facility |
 * severity. Returns the length (no terminating NUL counted), or 0 when it
 * does not fit in len. */
size_t logq_header(char *buf, size_t len, int prival, const struct tm *tm,
		   const char *ident, long pid);

#endif
