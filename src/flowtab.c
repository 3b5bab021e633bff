/* The live table of conntrack entries, keyed by conntrack id.
 *
 * Layout, chosen for memory per entry (a firewall may track millions) and
 * for few cache misses per event:
 *  - the entries themselves live densely in fixed-size chunks (positions
 *    0..count-1), so each live entry costs its 44 bytes plus at most one
 *    spare chunk overall; chunks never move, so growing never moves an
 *    entry; removal moves the last entry into the hole to stay dense;
 *  - the index is an open-addressing table of 64-bit slots (linear
 *    probing, power-of-two size, at most 3/4 full), each holding an
 *    entry's id and its position + 1. A probe compares ids in the slots
 *    and reads the one entry it finds, not each entry it passes, and
 *    deletion finds the homes of the slots it shifts back from their ids,
 *    so a lookup or a delete reads the index run once and one entry. A
 *    low half of 0 marks an empty slot: conntrack id 0 is a valid id, so
 *    the id cannot serve as the marker. Deletion shifts later slots of the
 *    run back (no tombstones), so probe runs stay short however many
 *    entries come and go. The entry moved into a removed one's place is
 *    re-found by its id (in steady churn it is the newest entry, whose run
 *    the insert has just read).
 * That is 44 + 8/load bytes per entry: about 54.7 to 65.3 bytes at scale,
 * against 56 to 112 for entries stored in the probe table itself at load
 * 3/8..3/4; slots of 4 bytes (a position alone) saved 5 to 11 of them but
 * made every probe step read an entry, a cache miss in a large table
 * (bench/flowtab). The start is kept as a 48-bit millisecond count (two
 * fields, so that the entry needs no 8-byte alignment), wide enough for
 * any age, and beside it the zone and a 32-bit fingerprint of the
 * kernel's start stamp, which tells a connection from a later one that
 * reuses its id and tuple.
 * Pointers to entries stay valid until the next remove or sweep.
 *
 * Side records live in two small open-addressing tables keyed by id, the
 * records stored in the slots, at most half full: the addresses of IPv6
 * entries (FLOW_F_INET6) and the export state of entries that outlived the
 * active timeout (FLOW_F_ACTIVE). Only flagged entries look there, so the
 * IPv4 path never touches them, and an IPv4 entry past the timeout carries
 * no room for IPv6 addresses. */
#include "nfflowd/flowtab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CHUNK_SHIFT 10
#define CHUNK_LEN (1u << CHUNK_SHIFT)
#define CHUNK_MASK (CHUNK_LEN - 1)
#define INDEX_MIN 64u
#define HARD_MAX (1u << 30)	/* keeps position + 1 and sizes far from overflow */
#define NS_PER_MS 1000000u

_Static_assert(sizeof(struct flow_entry) == 44,
	       "flow_entry is 44 bytes: 4 + 1 + 1 + 2 + 12 + 12 + 4 + 2 + 2 + 4, no padding");

/* A side table: cap slots of stride bytes, each a slot header followed by
 * the record. */
struct side_hdr {
	uint32_t id;
	uint32_t used;
};

struct sidemap {
	uint8_t *slots;
	size_t cap;		/* power of two, or 0 */
	size_t count;
	size_t stride;		/* header + record, a multiple of 8 */
};

#define SIDE_STRIDE(type) \
	((sizeof(struct side_hdr) + sizeof(type) + 7) / 8 * 8)

struct flowtab {
	struct sidemap addr6;	/* struct flow_addr6 */
	struct sidemap active;	/* struct flow_active */
	struct flow_entry **chunks;
	size_t nchunks;		/* chunks allocated */
	size_t chunks_cap;	/* length of the chunks array */
	uint64_t *index;	/* icap slots (slot_make): id and position + 1 */
	size_t icap;		/* power of two, or 0 before the first insert */
	size_t count;
	size_t max_entries;
	uint64_t replaced;	/* entries overwritten by a reused id */
};

/* Spreads conntrack ids over the index (the murmur3 32-bit finaliser). */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/* The entry at dense position pos. */
static struct flow_entry *at(const struct flowtab *t, size_t pos)
{
	return &t->chunks[pos >> CHUNK_SHIFT][pos & CHUNK_MASK];
}

/* An index slot: the entry's id in the high half, its position + 1 in the
 * low half (0: the slot is empty). */
static uint64_t slot_make(uint32_t id, size_t pos)
{
	return (uint64_t)id << 32 | (uint32_t)(pos + 1);
}

static uint32_t slot_id(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

/* The position of the entry of a full slot. */
static size_t slot_pos(uint64_t v)
{
	return (uint32_t)v - 1;
}

static bool slot_empty(uint64_t v)
{
	return (uint32_t)v == 0;
}

/* The slot where a probe for id starts. */
static size_t home(size_t icap, uint32_t id)
{
	return mix32(id) & (icap - 1);
}

/* The slot of id, or the empty slot that ends its probe run (*found
 * tells which; the index must have slots). Only the index is read: each
 * slot says its entry's id. */
static size_t probe(const struct flowtab *t, uint32_t id, bool *found)
{
	size_t mask = t->icap - 1, i;

	for (i = home(t->icap, id);; i = (i + 1) & mask) {
		uint64_t v = t->index[i];

		*found = !slot_empty(v);
		if (!*found || slot_id(v) == id)
			return i;
	}
}

/* Finds the index slot of id, or returns icap when it is absent. */
static size_t find_slot(const struct flowtab *t, uint32_t id)
{
	bool found;
	size_t i;

	if (t->icap == 0)
		return 0;
	i = probe(t, id, &found);
	return found ? i : t->icap;
}

/* Puts slot value v into the first free slot of its id's probe run. */
static void index_put(uint64_t *index, size_t icap, uint64_t v)
{
	size_t mask = icap - 1, i = home(icap, slot_id(v));

	while (!slot_empty(index[i]))
		i = (i + 1) & mask;
	index[i] = v;
}

/* Replaces the index with one of ncap slots built from the old one (no
 * entry is read); the table is unchanged when allocation fails. */
static bool rebuild_index(struct flowtab *t, size_t ncap)
{
	uint64_t *ni = calloc(ncap, sizeof(*ni));
	size_t i;

	if (ni == NULL)
		return false;
	for (i = 0; i < t->icap; i++)
		if (!slot_empty(t->index[i]))
			index_put(ni, ncap, t->index[i]);
	free(t->index);
	t->index = ni;
	t->icap = ncap;
	return true;
}

/* Empties slot i and moves later members of the run back so that every
 * remaining entry stays reachable from its home slot. Continues the walk
 * that found slot i to the end of its run; the homes come from the ids in
 * the slots, so no entry is read. */
static void index_delete(struct flowtab *t, size_t i)
{
	size_t mask = t->icap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (slot_empty(t->index[j]))
			break;
		k = home(t->icap, slot_id(t->index[j]));
		/* The slot at j may fill the hole at i only if its home is
		 * not cyclically within (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
}

/* The header of slot i of m. */
static struct side_hdr *side_at(const struct sidemap *m, size_t i)
{
	return (struct side_hdr *)(m->slots + i * m->stride);
}

/* The slot of id in m, or m->cap when it has none. */
static size_t side_find(const struct sidemap *m, uint32_t id)
{
	size_t mask = m->cap - 1, i;

	if (m->cap == 0)
		return 0;
	for (i = mix32(id) & mask; side_at(m, i)->used; i = (i + 1) & mask)
		if (side_at(m, i)->id == id)
			return i;
	return m->cap;
}

/* The first free slot of id's probe run (there is one: at most half full). */
static size_t side_free_slot(const struct sidemap *m, uint32_t id)
{
	size_t mask = m->cap - 1, i;

	for (i = mix32(id) & mask; side_at(m, i)->used; i = (i + 1) & mask)
		;
	return i;
}

/* Moves the records of m into ncap slots. */
static bool side_resize(struct sidemap *m, size_t ncap)
{
	struct sidemap n = { calloc(ncap, m->stride), ncap, m->count, m->stride };
	size_t i;

	if (n.slots == NULL)
		return false;
	for (i = 0; i < m->cap; i++)
		if (side_at(m, i)->used)
			memcpy(side_at(&n, side_free_slot(&n, side_at(m, i)->id)),
			       side_at(m, i), m->stride);
	free(m->slots);
	*m = n;
	return true;
}

/* Drops the record of id, if any, closing the probe run behind it. */
static void side_del(struct sidemap *m, uint32_t id)
{
	size_t mask, i = side_find(m, id), j, k;

	if (i >= m->cap)
		return;
	mask = m->cap - 1;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!side_at(m, j)->used)
			break;
		k = mix32(side_at(m, j)->id) & mask;
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			memcpy(side_at(m, i), side_at(m, j), m->stride);
			i = j;
		}
	}
	memset(side_at(m, i), 0, m->stride);
	if (--m->count == 0) {
		free(m->slots);
		m->slots = NULL;
		m->cap = 0;
	}
}

/* The record of id, or NULL. */
static void *side_lookup(const struct sidemap *m, uint32_t id)
{
	size_t i = side_find(m, id);

	return i < m->cap ? side_at(m, i) + 1 : NULL;
}

/* The record of id, created all zero if there was none; NULL when out of
 * memory. */
static void *side_get(struct sidemap *m, uint32_t id)
{
	struct side_hdr *h;
	void *rec = side_lookup(m, id);

	if (rec != NULL)
		return rec;
	if ((m->count + 1) * 2 > m->cap &&
	    !side_resize(m, m->cap == 0 ? 16 : m->cap * 2))
		return NULL;
	h = side_at(m, side_free_slot(m, id));
	memset(h, 0, m->stride);
	h->id = id;
	h->used = 1;
	m->count++;
	return h + 1;
}

const struct flow_addr6 *flowtab_addr6(const struct flowtab *t,
				       const struct flow_entry *e)
{
	return (e->flags & FLOW_F_INET6) ? side_lookup(&t->addr6, e->id) : NULL;
}

const struct flow_active *flowtab_active(const struct flowtab *t,
					 const struct flow_entry *e)
{
	return (e->flags & FLOW_F_ACTIVE) ? side_lookup(&t->active, e->id) : NULL;
}

struct flow_active *flowtab_active_get(struct flowtab *t, struct flow_entry *e)
{
	struct flow_active *a = side_get(&t->active, e->id);

	if (a != NULL)
		e->flags |= FLOW_F_ACTIVE;
	return a;
}

size_t flowtab_side_count(const struct flowtab *t)
{
	return t->addr6.count + t->active.count;
}

/* Drops whatever side records the entry has. */
static void drop_side(struct flowtab *t, const struct flow_entry *e)
{
	if (e->flags & FLOW_F_INET6)
		side_del(&t->addr6, e->id);
	if (e->flags & FLOW_F_ACTIVE)
		side_del(&t->active, e->id);
}

struct flowtab *flowtab_new(size_t max_entries)
{
	struct flowtab *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->max_entries = max_entries;
	t->addr6.stride = SIDE_STRIDE(struct flow_addr6);
	t->active.stride = SIDE_STRIDE(struct flow_active);
	return t;
}

void flowtab_free(struct flowtab *t)
{
	size_t c;

	if (t == NULL)
		return;
	for (c = 0; c < t->nchunks; c++)
		free(t->chunks[c]);
	free(t->chunks);
	free(t->index);
	free(t->addr6.slots);
	free(t->active.slots);
	free(t);
}

/* Makes room for one more entry: index within 3/4 load, a chunk for the
 * next position. Returns false when out of memory (nothing lost). */
static bool reserve_one(struct flowtab *t)
{
	size_t need = t->count + 1;

	if (t->icap == 0 || need * 4 > t->icap * 3) {
		size_t ncap = t->icap == 0 ? INDEX_MIN : t->icap * 2;

		if (!rebuild_index(t, ncap))
			return false;
	}
	if (need > t->nchunks * CHUNK_LEN) {
		if (t->nchunks == t->chunks_cap) {
			size_t ncap = t->chunks_cap == 0 ? 4 : t->chunks_cap * 2;
			struct flow_entry **nc;

			nc = realloc(t->chunks, ncap * sizeof(*nc));
			if (nc == NULL)
				return false;
			t->chunks = nc;
			t->chunks_cap = ncap;
		}
		t->chunks[t->nchunks] = malloc(CHUNK_LEN *
					       sizeof(struct flow_entry));
		if (t->chunks[t->nchunks] == NULL)
			return false;
		t->nchunks++;
	}
	return true;
}

bool flowtab_same_conn(const struct flowtab *t, const struct flow_entry *e,
		       const struct ct_event *ev)
{
	if (e->zone != ev->zone ||
	    (ev->has_start && (e->flags & FLOW_F_KERNEL_START) &&
	     e->kstart != (uint32_t)ev->start_ns))
		return false;
	if (ev->family == AF_INET6) {
		const struct flow_addr6 *a6 = flowtab_addr6(t, e);

		if (a6 == NULL ||
		    memcmp(&a6->orig6, &ev->orig6, sizeof(a6->orig6)) != 0 ||
		    memcmp(&a6->reply6, &ev->reply6, sizeof(a6->reply6)) != 0)
			return false;
	} else if (e->flags & FLOW_F_INET6) {
		return false;
	}
	return e->proto == ev->proto &&
	       e->orig.src == ev->orig.src && e->orig.dst == ev->orig.dst &&
	       e->orig.sport == ev->orig.sport &&
	       e->orig.dport == ev->orig.dport &&
	       e->reply.src == ev->reply.src && e->reply.dst == ev->reply.dst &&
	       e->reply.sport == ev->reply.sport &&
	       e->reply.dport == ev->reply.dport;
}

static void remove_slot(struct flowtab *t, size_t slot);

/* Writes a fresh entry for the event. */
static void fill(struct flow_entry *e, const struct ct_event *ev,
		 uint64_t start_boot_ns, uint16_t flags)
{
	memset(e, 0, sizeof(*e));
	e->id = ev->id;
	e->proto = ev->proto;
	e->tcp_state = ev->tcp_state;
	e->flags = flags;
	e->orig = ev->orig;
	e->reply = ev->reply;
	e->zone = ev->zone;
	if (ev->has_start)
		e->kstart = (uint32_t)ev->start_ns;
	e->start_ms = (uint32_t)(start_boot_ns / NS_PER_MS);
	e->start_ms_hi = (uint16_t)(start_boot_ns / NS_PER_MS >> 32);
}

/* Gives a fresh IPv6 entry its addresses. False when out of memory. */
static bool fill_side(struct flowtab *t, struct flow_entry *e,
		      const struct ct_event *ev)
{
	struct flow_addr6 *a6;

	if (ev->family != AF_INET6)
		return true;
	a6 = side_get(&t->addr6, e->id);
	if (a6 == NULL)
		return false;
	e->flags |= FLOW_F_INET6;
	a6->orig6 = ev->orig6;
	a6->reply6 = ev->reply6;
	return true;
}

/* A reused id (same id, other tuple) is a new connection: the entry is
 * rewritten and *created is true. A refresh keeps start and flags and only
 * takes the TCP state when the event carries one. */
struct flow_entry *flowtab_upsert(struct flowtab *t, const struct ct_event *ev,
				  uint64_t start_boot_ns, uint16_t flags,
				  bool *created)
{
	size_t slot = 0, icap = t->icap;
	struct flow_entry *e;
	bool isnew = false, found = false;

	if (icap != 0)
		slot = probe(t, ev->id, &found);
	if (found) {
		e = at(t, slot_pos(t->index[slot]));
		if (!flowtab_same_conn(t, e, ev)) {
			t->replaced++;
			drop_side(t, e);
			fill(e, ev, start_boot_ns, flags);
			if (!fill_side(t, e, ev)) {
				remove_slot(t, slot);
				return NULL;
			}
			isnew = true;
		} else if (ev->tcp_state != 0) {
			e->tcp_state = ev->tcp_state;
		}
	} else {
		if ((t->max_entries != 0 && t->count >= t->max_entries) ||
		    t->count >= HARD_MAX || !reserve_one(t))
			return NULL;
		/* A grown index has the run elsewhere. */
		if (t->icap != icap)
			slot = probe(t, ev->id, &found);
		e = at(t, t->count);
		fill(e, ev, start_boot_ns, flags);
		t->index[slot] = slot_make(ev->id, t->count);
		t->count++;
		if (!fill_side(t, e, ev)) {
			remove_slot(t, find_slot(t, ev->id));
			return NULL;
		}
		isnew = true;
	}
	if (created != NULL)
		*created = isnew;
	return e;
}

struct flow_entry *flowtab_lookup(const struct flowtab *t, uint32_t id)
{
	size_t slot = find_slot(t, id);

	return slot < t->icap ? at(t, slot_pos(t->index[slot])) : NULL;
}

/* First every slot (the fetches overlap), then, as those arrive, the
 * entries they name. */
void flowtab_prefetch(const struct flowtab *t, const uint32_t *ids, size_t n)
{
	size_t i;

	if (t->icap == 0)
		return;
	for (i = 0; i < n; i++)
		__builtin_prefetch(&t->index[home(t->icap, ids[i])]);
	for (i = 0; i < n; i++) {
		size_t slot = find_slot(t, ids[i]);

		if (slot < t->icap)
			__builtin_prefetch(at(t, slot_pos(t->index[slot])));
	}
}

/* Removes the entry whose index slot is slot: the last entry moves into its
 * position, and chunks beyond one spare are released. */
static void remove_slot(struct flowtab *t, size_t slot)
{
	size_t pos = slot_pos(t->index[slot]), last = t->count - 1;

	drop_side(t, at(t, pos));
	index_delete(t, slot);
	if (pos != last) {
		struct flow_entry *moved = at(t, last);

		*at(t, pos) = *moved;
		t->index[find_slot(t, moved->id)] = slot_make(moved->id, pos);
	}
	t->count--;
	/* Keep one empty chunk in hand so that add/remove at a chunk
	 * boundary does not thrash the allocator. */
	while (t->nchunks >= 2 && t->count <= (t->nchunks - 2) * CHUNK_LEN) {
		t->nchunks--;
		free(t->chunks[t->nchunks]);
		t->chunks[t->nchunks] = NULL;
	}
}

bool flowtab_remove(struct flowtab *t, uint32_t id, struct flow_entry *out,
		    struct flow_active *active)
{
	return flowtab_remove_conn(t, id, NULL, NULL, out, active);
}

/* One probe of the index finds the entry, compares it and removes it. */
bool flowtab_remove_conn(struct flowtab *t, uint32_t id,
			 const struct ct_event *ev, bool *same,
			 struct flow_entry *out, struct flow_active *active)
{
	size_t slot = find_slot(t, id);
	const struct flow_entry *e;

	if (slot >= t->icap)
		return false;
	e = at(t, slot_pos(t->index[slot]));
	if (ev != NULL) {
		*same = flowtab_same_conn(t, e, ev);
		if (!*same)
			return false;	/* another connection's: it stays */
	}
	if (out != NULL)
		*out = *e;
	if (active != NULL) {
		const struct flow_active *a = flowtab_active(t, e);

		if (a != NULL)
			*active = *a;
		else
			memset(active, 0, sizeof(*active));
	}
	remove_slot(t, slot);
	return true;
}

/* Removes every entry for which drop() is true. Walks positions downwards,
 * so an entry moved into a hole (always from the end) has already been
 * looked at. Shrinks the index afterwards when it has become mostly empty;
 * a failed shrink just keeps the larger one. */
size_t flowtab_filter(struct flowtab *t,
		      bool (*drop)(struct flowtab *t, struct flow_entry *e,
				   void *arg),
		      void *arg)
{
	size_t pos = t->count, removed = 0, ncap;

	while (pos-- > 0) {
		struct flow_entry *e = at(t, pos);

		if (drop(t, e, arg)) {
			remove_slot(t, find_slot(t, e->id));
			removed++;
		}
	}
	ncap = t->icap;
	while (ncap > INDEX_MIN && t->count * 8 < ncap)
		ncap /= 2;
	if (ncap != t->icap)
		(void)rebuild_index(t, ncap);
	return removed;
}

uint64_t flowtab_start_ms(const struct flow_entry *e)
{
	return (uint64_t)e->start_ms_hi << 32 | e->start_ms;
}

void flowtab_set_start_ms(struct flow_entry *e, uint64_t start_ms)
{
	e->start_ms = (uint32_t)start_ms;
	e->start_ms_hi = (uint16_t)(start_ms >> 32);
}

uint64_t flowtab_age_ms(const struct flow_entry *e, uint64_t now_boot_ns)
{
	uint64_t now_ms = now_boot_ns / NS_PER_MS, start = flowtab_start_ms(e);

	return now_ms > start ? now_ms - start : 0;
}

/* Whole milliseconds, so that the v5 first-seen field comes out as the
 * recorded start ms itself. */
uint64_t flowtab_start_ns(const struct flow_entry *e, uint64_t now_boot_ns)
{
	uint64_t start = flowtab_start_ms(e) * NS_PER_MS;

	return start < now_boot_ns ? start : now_boot_ns;
}

struct age_limit {
	uint64_t now_boot_ns;
	uint64_t ttl_ms;
};

static bool too_old(struct flowtab *t, struct flow_entry *e, void *arg)
{
	const struct age_limit *a = arg;

	return flowtab_age_ms(e, a->now_boot_ns) > a->ttl_ms;
}

size_t flowtab_sweep(struct flowtab *t, uint64_t now_boot_ns, uint64_t ttl_ns)
{
	struct age_limit a = { now_boot_ns, ttl_ns / NS_PER_MS };

	return flowtab_filter(t, too_old, &a);
}

static bool lacks_flag(struct flowtab *t, struct flow_entry *e, void *arg)
{
	return (e->flags & *(const uint16_t *)arg) == 0;
}

size_t flowtab_remove_unflagged(struct flowtab *t, uint16_t flag)
{
	return flowtab_filter(t, lacks_flag, &flag);
}

void flowtab_set_flag(struct flowtab *t, uint16_t flag)
{
	size_t pos;

	for (pos = 0; pos < t->count; pos++)
		at(t, pos)->flags |= flag;
}

void flowtab_clear_flag(struct flowtab *t, uint16_t flag)
{
	size_t pos;

	for (pos = 0; pos < t->count; pos++)
		at(t, pos)->flags &= (uint16_t)~flag;
}

uint64_t flowtab_replaced(const struct flowtab *t)
{
	return t->replaced;
}

size_t flowtab_count(const struct flowtab *t)
{
	return t->count;
}

void flowtab_foreach(const struct flowtab *t,
		     void (*fn)(const struct flow_entry *e, void *arg),
		     void *arg)
{
	size_t pos;

	for (pos = 0; pos < t->count; pos++)
		fn(at(t, pos), arg);
}

/* The cursor is a dense position: a removal moves the last entry into the
 * hole, so an entry may be missed if entries are removed between calls. */
const struct flow_entry *flowtab_next(const struct flowtab *t, size_t *cursor)
{
	if (*cursor >= t->count)
		return NULL;
	return at(t, (*cursor)++);
}

size_t flowtab_memory(const struct flowtab *t)
{
	return sizeof(*t) + t->chunks_cap * sizeof(*t->chunks) +
	       t->nchunks * CHUNK_LEN * sizeof(struct flow_entry) +
	       t->icap * sizeof(*t->index) +
	       t->addr6.cap * t->addr6.stride + t->active.cap * t->active.stride;
}
