/* One conntrack event through the live table into exports. */
#include "nfflowd/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NS_PER_S 1000000000u

/* Creates the table and remembers where exports go. */
int pipeline_init(struct pipeline *p, size_t max_entries, pipeline_emit_fn emit,
		  void *emit_arg)
{
	memset(p, 0, sizeof(*p));
	p->tab = flowtab_new(max_entries);
	p->emit = emit;
	p->emit_arg = emit_arg;
	return p->tab ? 0 : -1;
}

/* One collector's export flow as record_is_self compares it. */
static void self_of(struct record_self *self, const struct config_collector *cc)
{
	memset(self, 0, sizeof(*self));
	self->port = cc->port;
	if (cc->source.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&cc->source;
		const struct sockaddr_in6 *c = (const struct sockaddr_in6 *)&cc->collector;

		self->family = AF_INET6;
		memcpy(self->source6, &s->sin6_addr, 16);
		memcpy(self->collector6, &c->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&cc->source;
		const struct sockaddr_in *c = (const struct sockaddr_in *)&cc->collector;

		self->family = AF_INET;
		self->source = ntohl(s->sin_addr.s_addr);
		self->collector = ntohl(c->sin_addr.s_addr);
	}
}

/* Puts a flow in front of the list, once; the oldest falls off. */
static void self_add(struct pipeline *p, const struct record_self *self)
{
	unsigned i;

	for (i = 0; i < p->nself; i++)
		if (memcmp(&p->self[i], self, sizeof(*self)) == 0)
			break;
	if (i == p->nself && p->nself < PIPELINE_SELF_MAX)
		p->nself++;
	if (i == PIPELINE_SELF_MAX)
		i = PIPELINE_SELF_MAX - 1;
	memmove(&p->self[1], &p->self[0], i * sizeof(p->self[0]));
	p->self[0] = *self;
}

static void dq_rebuild(struct pipeline *p);

/* Every collector's export flow, and the active timeout. */
void pipeline_configure(struct pipeline *p, const struct config *cfg)
{
	struct record_self self;
	unsigned i = cfg->ncollectors;

	while (i-- > 0) {
		self_of(&self, &cfg->collectors[i]);
		self_add(p, &self);
	}
	if (p->active_ns != (uint64_t)cfg->active_timeout * NS_PER_S) {
		p->active_ns = (uint64_t)cfg->active_timeout * NS_PER_S;
		dq_rebuild(p);
	}
}

static bool is_self(const struct pipeline *p, const struct ct_event *ev)
{
	unsigned i;

	for (i = 0; i < p->nself; i++)
		if (record_is_self(ev, &p->self[i]))
			return true;
	return false;
}

/* What was counted since the previous reading: a counter below what was
 * already exported was reset (conntrack -Z), so all of it is new. */
static uint64_t delta(uint64_t now, uint64_t sent)
{
	return now >= sent ? now - sent : now;
}

/* Turns the whole-connection counters of c into what is left after the
 * interim exports recorded in sd, covering the time since the last. */
static void take_remainder(struct flow_conn *c, const struct flow_active *sd,
		      const struct time_pair *now)
{
	c->orig_packets = delta(c->orig_packets, sd->sent_orig_packets);
	c->orig_bytes = delta(c->orig_bytes, sd->sent_orig_bytes);
	c->reply_packets = delta(c->reply_packets, sd->sent_reply_packets);
	c->reply_bytes = delta(c->reply_bytes, sd->sent_reply_bytes);
	if (sd->last_end_ns > c->start_boot_ns) {
		c->start_boot_ns = sd->last_end_ns;
		if (c->end_boot_ns < c->start_boot_ns)
			c->end_boot_ns = c->start_boot_ns;
		c->start_real_ms = sd->last_end_real_ms;
		c->end_real_ms = record_boot_to_real_ms(now, c->end_boot_ns);
		if (c->end_real_ms < c->start_real_ms)
			c->end_real_ms = c->start_real_ms;
	}
}

/* Takes the entry out and exports the connection. Without an entry (the
 * connection began before we listened and was not in the dump, or its id
 * was reused) the start is the DESTROY itself unless the kernel stamped it. */
static void destroy(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now)
{
	struct flow_conn c;
	struct flow_entry e;
	struct flow_active sd;
	uint64_t start = now->boot_ns;
	bool known = false;

	if (flowtab_remove_conn(p->tab, ev->id, ev, &known, &e, &sd) && known)
		start = flowtab_start_ns(&e, now->boot_ns);
	else
		p->st.destroy_unknown++;
	record_conn_init(&c, ev, start, now);
	if (known && sd.exports > 0 && ev->has_counters)
		take_remainder(&c, &sd, now);
	p->st.exports++;
	if (!ev->has_counters)
		p->st.exports_no_counters++;
	if (ev->family == AF_INET6)
		p->st.ipv6++;
	p->emit(&c, p->emit_arg);
}

/* Every insert and refresh sets FLOW_F_SEEN: a resync (see daemon.c)
 * clears it first and drops what is still unset afterwards. */
void pipeline_event(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now, bool from_dump)
{
	struct flow_entry *e;
	uint64_t start;
	uint16_t flags;

	if (is_self(p, ev)) {
		p->st.self_ignored++;
		return;
	}
	if (ev->type == CT_EVENT_DESTROY) {
		destroy(p, ev, now);
		return;
	}
	start = ev->has_start ? record_real_to_boot(now, ev->start_ns) : now->boot_ns;
	flags = (uint16_t)((from_dump ? FLOW_F_FROM_DUMP : 0) |
			   (ev->has_start ? FLOW_F_KERNEL_START : 0) | FLOW_F_SEEN);
	e = flowtab_upsert(p->tab, ev, start, flags, NULL);
	if (!e)
		p->st.table_full++;
	else
		e->flags |= FLOW_F_SEEN;
}

/* The query that reads one entry's counters. */
static void query_of(const struct flowtab *t, const struct flow_entry *e,
		     struct ct_query *q)
{
	const struct flow_addr6 *a6 = flowtab_addr6(t, e);

	memset(q, 0, sizeof(*q));
	q->id = e->id;
	q->proto = e->proto;
	q->orig = e->orig;
	q->family = AF_INET;
	if (a6 != NULL) {
		q->family = AF_INET6;
		q->orig6 = a6->orig6;
	}
}

/* The due queue: connections that have an export state wait in it for
 * their next reading. Each is queued at now + timeout, and now only grows,
 * so a FIFO is in due order; an item whose entry has gone, or has been
 * rescheduled since, is stale and dropped when it comes up. */
static bool dq_push(struct pipeline *p, uint64_t due_ns, uint32_t id)
{
	if (p->dq_len == p->dq_cap) {
		size_t ncap = p->dq_cap ? p->dq_cap * 2 : 1024, i;
		struct pipeline_due_item *n = malloc(ncap * sizeof(*n));

		if (n == NULL)
			return false;
		for (i = 0; i < p->dq_len; i++)
			n[i] = p->dq[(p->dq_head + i) % p->dq_cap];
		free(p->dq);
		p->dq = n;
		p->dq_cap = ncap;
		p->dq_head = 0;
	}
	p->dq[(p->dq_head + p->dq_len) % p->dq_cap] =
		(struct pipeline_due_item){ due_ns, id };
	p->dq_len++;
	return true;
}

/* Orders due items by time. */
static int due_cmp(const void *a, const void *b)
{
	const struct pipeline_due_item *x = a, *y = b;

	return x->due_ns < y->due_ns ? -1 : x->due_ns > y->due_ns;
}

/* Queues the export state of e. */
static void requeue_one(const struct flow_entry *e, void *arg)
{
	struct pipeline *p = arg;
	const struct flow_active *a = flowtab_active(p->tab, e);

	if (a != NULL && a->next_query_ns != 0)
		(void)dq_push(p, a->next_query_ns, e->id);
}

/* After the timeout changed: the queue again from the export states, in
 * order (their due times were set under the old timeout). */
static void dq_rebuild(struct pipeline *p)
{
	p->dq_len = 0;
	p->dq_head = 0;
	if (p->active_ns == 0)
		return;
	/* from an empty ring at 0, pushes fill dq[0..dq_len) */
	flowtab_foreach(p->tab, requeue_one, p);
	if (p->dq_len > 1)
		qsort(p->dq, p->dq_len, sizeof(*p->dq), due_cmp);
}

/* Schedules the next reading of e and writes the query for this one;
 * false when out of memory. */
static bool ask(struct pipeline *p, struct flow_entry *e, uint64_t now_boot_ns,
		struct ct_query *q)
{
	struct flow_active *a = flowtab_active_get(p->tab, e);

	if (a == NULL || !dq_push(p, now_boot_ns + p->active_ns, e->id))
		return false;
	a->next_query_ns = now_boot_ns + p->active_ns;
	query_of(p->tab, e, q);
	return true;
}

/* Takes up to max - n due items off the queue (stale ones dropped). */
static size_t from_queue(struct pipeline *p, uint64_t now_boot_ns,
			 struct ct_query *out, size_t n, size_t max)
{
	while (n < max && p->dq_len > 0 &&
	       p->dq[p->dq_head].due_ns <= now_boot_ns) {
		struct pipeline_due_item it = p->dq[p->dq_head];
		struct flow_entry *e = flowtab_lookup(p->tab, it.id);
		const struct flow_active *a = e ? flowtab_active(p->tab, e) : NULL;

		p->dq_head = (p->dq_head + 1) % p->dq_cap;
		p->dq_len--;
		if (a == NULL || a->next_query_ns != it.due_ns)
			continue;	/* stale */
		if (!ask(p, e, now_boot_ns, &out[n]))
			break;
		n++;
	}
	return n;
}

/* Readings come from the due queue and from a scan for entries newly past
 * the timeout, half the budget each first, so that neither starves the
 * other, then whatever is left to the queue. The scan skips entries that
 * have an export state (the queue has them), goes on where the previous
 * one stopped, and looks at most at an eighth of the table (at least
 * PIPELINE_SCAN_MIN entries) per call: a big table costs little per tick,
 * and an entry is found within eight calls of its timeout. */
size_t pipeline_due(struct pipeline *p, uint64_t now_boot_ns,
		    struct ct_query *out, size_t max)
{
	const struct flow_entry *ce;
	size_t n, seen = 0, count = flowtab_count(p->tab), slice;
	uint64_t active_ms = p->active_ns / 1000000u;

	if (p->active_ns == 0 || max == 0)
		return 0;
	n = from_queue(p, now_boot_ns, out, 0, (max + 1) / 2);
	slice = count / 8 > PIPELINE_SCAN_MIN ? count / 8 : PIPELINE_SCAN_MIN;
	while (n < max && seen < count && seen < slice) {
		ce = flowtab_next(p->tab, &p->due_cursor);
		if (ce == NULL) {
			p->due_cursor = 0;	/* wrap around */
			continue;
		}
		seen++;
		if ((ce->flags & FLOW_F_ACTIVE) ||
		    flowtab_age_ms(ce, now_boot_ns) < active_ms)
			continue;
		if (!ask(p, flowtab_lookup(p->tab, ce->id), now_boot_ns, &out[n]))
			break;	/* out of memory: try again next time */
		n++;
	}
	n = from_queue(p, now_boot_ns, out, n, max);
	p->st.queries += n;
	return n;
}

void pipeline_interim(struct pipeline *p, const struct ct_event *ev,
		      const struct time_pair *now)
{
	struct flow_entry *e = flowtab_lookup(p->tab, ev->id);
	struct flow_active *sd;
	struct flow_conn c;

	if (e == NULL || !flowtab_same_conn(p->tab, e, ev) || !ev->has_counters ||
	    (sd = flowtab_active_get(p->tab, e)) == NULL) {
		p->st.query_stale++;
		return;
	}
	memset(&c, 0, sizeof(c));
	c.ev = ev;
	c.reason = FLOW_END_ACTIVE;
	c.has_counters = true;
	c.orig_packets = delta(ev->orig_packets, sd->sent_orig_packets);
	c.orig_bytes = delta(ev->orig_bytes, sd->sent_orig_bytes);
	c.reply_packets = delta(ev->reply_packets, sd->sent_reply_packets);
	c.reply_bytes = delta(ev->reply_bytes, sd->sent_reply_bytes);
	if (c.orig_packets == 0 && c.reply_packets == 0)
		return;	/* idle since the last export: nothing to say */
	c.start_boot_ns = sd->last_end_ns != 0 ? sd->last_end_ns
					       : flowtab_start_ns(e, now->boot_ns);
	c.end_boot_ns = now->boot_ns;
	if (c.end_boot_ns < c.start_boot_ns)
		c.end_boot_ns = c.start_boot_ns;
	c.start_real_ms = sd->last_end_ns != 0 ? sd->last_end_real_ms
				: record_boot_to_real_ms(now, c.start_boot_ns);
	c.end_real_ms = record_boot_to_real_ms(now, c.end_boot_ns);
	if (c.end_real_ms < c.start_real_ms)
		c.end_real_ms = c.start_real_ms;
	sd->last_end_real_ms = c.end_real_ms;
	sd->sent_orig_packets = ev->orig_packets;
	sd->sent_orig_bytes = ev->orig_bytes;
	sd->sent_reply_packets = ev->reply_packets;
	sd->sent_reply_bytes = ev->reply_bytes;
	sd->last_end_ns = c.end_boot_ns;
	sd->exports++;
	p->st.interim++;
	p->emit(&c, p->emit_arg);
}

/* Frees the table. */
void pipeline_free(struct pipeline *p)
{
	if (p->tab)
		flowtab_free(p->tab);
	p->tab = NULL;
	free(p->dq);
	p->dq = NULL;
	p->dq_cap = p->dq_len = p->dq_head = 0;
}
