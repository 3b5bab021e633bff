/* The record lines that wait for the syslog socket: a bounded FIFO of
 * messages packed into chunks, and the syslog(3) header. */
#include "nfflowd/logq.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Each message is stored as a 2-byte length (host order, unaligned) and
 * its bytes; a message never spans two chunks. */
#define LEN_BYTES 2

/* Chunks are whole mappings of their own, so that the memory of a burst
 * goes back to the system once it has left (malloc keeps freed 64 KiB
 * blocks in its heap, where a FIFO leaves them scattered). */
struct logq_chunk {
	struct logq_chunk *next;
	uint32_t head;		/* offset of the oldest message */
	uint32_t tail;		/* offset where the next one goes */
	unsigned char data[LOGQ_CHUNK_BYTES - 16];
};

_Static_assert(sizeof(struct logq_chunk) == LOGQ_CHUNK_BYTES,
	       "a chunk is exactly LOGQ_CHUNK_BYTES");

static struct logq_chunk *chunk_map(void)
{
	void *p = mmap(NULL, sizeof(struct logq_chunk), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void chunk_unmap(struct logq_chunk *c)
{
	munmap(c, sizeof(*c));
}

void logq_init(struct logq *q, uint64_t max)
{
	memset(q, 0, sizeof(*q));
	logq_set_max(q, max);
}

void logq_set_max(struct logq *q, uint64_t max)
{
	q->max = max > 0 ? max : 1;
}

/* A chunk to append: a spare one, else a new one. */
static struct logq_chunk *chunk_get(struct logq *q)
{
	struct logq_chunk *c = q->spare;

	if (c != NULL) {
		q->spare = c->next;
		q->nspare--;
	} else {
		c = chunk_map();
		if (c == NULL)
			return NULL;
		q->chunks++;
	}
	c->next = NULL;
	c->head = 0;
	c->tail = 0;
	return c;
}

/* Keeps an emptied chunk as a spare, or frees it when enough are kept. */
static void chunk_put(struct logq *q, struct logq_chunk *c)
{
	if (q->nspare < LOGQ_SPARE_CHUNKS) {
		c->next = q->spare;
		q->spare = c;
		q->nspare++;
		return;
	}
	chunk_unmap(c);
	q->chunks--;
}

int logq_push(struct logq *q, const char *head, size_t headlen,
	      const char *body, size_t bodylen)
{
	size_t total = headlen + bodylen;
	struct logq_chunk *c = q->last;
	uint16_t len16;

	if (q->count >= q->max || total > LOGQ_MSG_MAX)
		return -1;
	if (c == NULL || c->tail + LEN_BYTES + total > sizeof(c->data)) {
		struct logq_chunk *n = chunk_get(q);

		if (n == NULL)
			return -1;
		if (c == NULL)
			q->first = n;
		else
			c->next = n;
		q->last = n;
		c = n;
	}
	len16 = (uint16_t)total;
	memcpy(c->data + c->tail, &len16, LEN_BYTES);
	if (headlen > 0)
		memcpy(c->data + c->tail + LEN_BYTES, head, headlen);
	if (bodylen > 0)
		memcpy(c->data + c->tail + LEN_BYTES + headlen, body, bodylen);
	c->tail += (uint32_t)(LEN_BYTES + total);
	q->count++;
	return 0;
}

unsigned logq_peek(const struct logq *q, struct iovec *iov, unsigned max)
{
	const struct logq_chunk *c;
	unsigned n = 0;

	for (c = q->first; c != NULL && n < max; c = c->next) {
		uint32_t off = c->head;

		while (off < c->tail && n < max) {
			uint16_t len16;

			memcpy(&len16, c->data + off, LEN_BYTES);
			iov[n].iov_base = (void *)(c->data + off + LEN_BYTES);
			iov[n].iov_len = len16;
			n++;
			off += LEN_BYTES + len16;
		}
	}
	return n;
}

void logq_pop(struct logq *q, uint64_t n)
{
	while (n > 0 && q->count > 0) {
		struct logq_chunk *c = q->first;
		uint16_t len16;

		memcpy(&len16, c->data + c->head, LEN_BYTES);
		c->head += LEN_BYTES + len16;
		q->count--;
		n--;
		if (c->head < c->tail)
			continue;
		if (c == q->last) {	/* the only chunk: start it over */
			c->head = 0;
			c->tail = 0;
		} else {
			q->first = c->next;
			chunk_put(q, c);
		}
	}
}

size_t logq_memory(const struct logq *q)
{
	return (size_t)q->chunks * sizeof(struct logq_chunk);
}

/* Unmaps every chunk of a list. */
static void unmap_all(struct logq_chunk *c)
{
	while (c != NULL) {
		struct logq_chunk *next = c->next;

		chunk_unmap(c);
		c = next;
	}
}

void logq_free(struct logq *q)
{
	unmap_all(q->first);
	unmap_all(q->spare);
	q->first = q->last = q->spare = NULL;
	q->nspare = 0;
	q->count = 0;
	q->chunks = 0;
}

size_t logq_header(char *buf, size_t len, int prival, const struct tm *tm,
		   const char *ident, long pid)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	int mon = tm->tm_mon >= 0 && tm->tm_mon < 12 ? tm->tm_mon : 0;
	int n;

	if (buf == NULL || len == 0)
		return 0;
	n = snprintf(buf, len, "<%d>%s %2d %02d:%02d:%02d %s[%ld]: ", prival,
		     months[mon], tm->tm_mday, tm->tm_hour, tm->tm_min,
		     tm->tm_sec, ident != NULL ? ident : "", pid);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
