/* One conntrack event through the live table into exports. */
#include "nfflowd/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NS_PER_S 1000000000u
#define NS_PER_MS 1000000u

/* Creates the table and remembers where exports go. */
int pipeline_init(struct pipeline *p, size_t max_entries, pipeline_emit_fn emit,
		  void *emit_arg)
{
	memset(p, 0, sizeof(*p));
	p->tab = flowtab_new(max_entries);
	p->recent = calloc(PIPELINE_RECENT, sizeof(*p->recent));
	p->emit = emit;
	p->emit_arg = emit_arg;
	p->defer_late = true;
	return p->tab && p->recent ? 0 : -1;
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
	bool had_nat = p->nat_events;

	while (i-- > 0) {
		self_of(&self, &cfg->collectors[i]);
		self_add(p, &self);
	}
	p->ttl_ns = (uint64_t)cfg->ttl * NS_PER_S;
	p->pair = cfg->active_when_address[0] != '\0';
	p->nat_events = false;
	for (i = 0; i < cfg->ncollectors; i++)
		if (cfg->collectors[i].nat_events != 0)
			p->nat_events = true;
	/* NAT events switched on: the connections alive now get a late
	 * create at the next pipeline_late_creates */
	if (p->nat_events && !had_nat && p->tab != NULL)
		flowtab_set_flag(p->tab, FLOW_F_NAT_DUE);
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

/* A record's flags describe the packets it counts: a direction that
 * carried none since the last export shows none. */
static void flags_of_counted(struct flow_conn *c)
{
	if (!c->has_counters)
		return;
	if (c->orig_packets == 0)
		c->tcp_flags = 0;
	if (c->reply_packets == 0)
		c->rtcp_flags = 0;
}

/* What tells one connection from a later one under the same id: its
 * kernel start stamp, else a hash of its original tuple. */
static uint32_t conn_fp(const struct ct_event *ev)
{
	const uint8_t *b = (const uint8_t *)&ev->orig6;
	uint32_t h = 2166136261u;
	size_t i;

	if (ev->has_start)
		return (uint32_t)ev->start_ns;
	h = (h ^ ev->orig.src) * 16777619u;
	h = (h ^ ev->orig.dst) * 16777619u;
	h = (h ^ ((uint32_t)ev->orig.sport << 16 | ev->orig.dport)) * 16777619u;
	h = (h ^ ev->proto) * 16777619u;
	for (i = 0; ev->family == AF_INET6 && i < sizeof(ev->orig6); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The slot of id in the cache of recent DESTROY events. */
static struct pipeline_recent *recent_slot(const struct pipeline *p,
					   uint32_t id)
{
	uint32_t h = id * 0x9e3779b1u;

	return &p->recent[(h >> 16 ^ h) & (PIPELINE_RECENT - 1)];
}

/* Remembers an exported DESTROY, so that the same one delivered again
 * (reliable delivery retries until a send succeeds) is not exported twice. */
static void recent_put(struct pipeline *p, const struct ct_event *ev)
{
	struct pipeline_recent *r = recent_slot(p, ev->id);

	r->id = ev->id;
	r->fp = conn_fp(ev);
	r->used = 1;
}

static bool recent_has(const struct pipeline *p, const struct ct_event *ev)
{
	const struct pipeline_recent *r = recent_slot(p, ev->id);

	return r->used && r->id == ev->id && r->fp == conn_fp(ev);
}

/* Orders state records by id. */
static int rec_cmp(const void *a, const void *b)
{
	const struct statefile_rec *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* True when the state record describes the event's connection. */
static bool rec_is_conn(const struct statefile_rec *r, const struct ct_event *ev)
{
	if ((r->family == AF_INET6) != (ev->family == AF_INET6) ||
	    r->proto != ev->proto ||
	    r->zone != ev->zone ||
	    memcmp(&r->orig, &ev->orig, sizeof(r->orig)) != 0 ||
	    (r->family == AF_INET6 &&
	     memcmp(&r->orig6, &ev->orig6, sizeof(r->orig6)) != 0))
		return false;
	return !(ev->has_start && (r->flags & FLOW_F_KERNEL_START)) ||
	       r->kstart == (uint32_t)ev->start_ns;
}

/* The restored connection the event ends, if any (taken out of limbo). */
static struct statefile_rec *limbo_take(struct pipeline *p,
					const struct ct_event *ev)
{
	struct statefile_rec key, *r;

	if (p->nlimbo == 0)
		return NULL;
	key.id = ev->id;
	r = bsearch(&key, p->limbo, p->nlimbo, sizeof(*p->limbo), rec_cmp);
	if (r == NULL || r->family == 0 || !rec_is_conn(r, ev))
		return NULL;
	r->family = 0;	/* done */
	p->st.restored_ended++;
	return r;
}

/* The export state a state record carries. */
static void rec_active(const struct statefile_rec *r, struct flow_active *a)
{
	memset(a, 0, sizeof(*a));
	a->sent_orig_packets = r->sent_orig_packets;
	a->sent_orig_bytes = r->sent_orig_bytes;
	a->sent_reply_packets = r->sent_reply_packets;
	a->sent_reply_bytes = r->sent_reply_bytes;
	a->last_end_ns = r->last_end_ns;
	a->last_end_real_ms = r->last_end_real_ms;
	a->exports = r->exports;
}

/* Exports a NAT session event of the connection of ev: a create (start
 * from start_boot_ns; at now when late) or a delete (at c's end). */
static void nat_event(struct pipeline *p, const struct ct_event *ev,
		      enum flow_kind kind, bool late, uint64_t start_boot_ns,
		      uint64_t end_real_ms, const struct time_pair *now)
{
	struct flow_conn c;

	memset(&c, 0, sizeof(c));
	c.ev = ev;
	c.kind = kind;
	c.late = late;
	c.start_boot_ns = start_boot_ns;
	c.start_real_ms = record_boot_to_real_ms(now, start_boot_ns);
	if (kind == FLOW_KIND_NAT_DELETE) {
		c.event_real_ms = end_real_ms;
		p->st.nat_deletes++;
	} else {
		c.event_real_ms = late ? now->real_ns / NS_PER_MS : c.start_real_ms;
		p->st.nat_creates++;
		if (late)
			p->st.nat_creates_late++;
	}
	p->emit(&c, p->emit_arg);
}

/* Takes the entry out and exports the connection. Without an entry (the
 * connection began before we listened and was not in the dump, or its id
 * was reused) the start is the DESTROY itself unless the kernel stamped it;
 * a connection of the state file that ended while no daemon listened
 * takes its export state from there; a DESTROY of a connection already
 * exported (delivered again) is dropped. */
static void destroy(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now)
{
	struct flow_conn c;
	struct flow_entry e;
	struct flow_active sd;
	const struct statefile_rec *r;
	uint64_t start = now->boot_ns;
	bool known = false, began_syn = false, nat_sent = false, nat;
	bool injected = false;
	uint64_t end_real_ms;

	if (flowtab_remove_conn(p->tab, ev->id, ev, &known, &e, &sd) && known) {
		start = flowtab_start_ns(&e, now->boot_ns);
		began_syn = (e.flags & FLOW_F_SYN) != 0;
		nat_sent = (e.flags & FLOW_F_NAT_SENT) != 0;
		injected = (e.flags & FLOW_F_INJECTED) != 0;
	} else if ((r = limbo_take(p, ev)) != NULL) {
		known = true;
		began_syn = (r->flags & FLOW_F_SYN) != 0;
		nat_sent = (r->flags & FLOW_F_NAT_SENT) != 0;
		rec_active(r, &sd);
		start = r->start_ms * NS_PER_MS < now->boot_ns ?
			r->start_ms * NS_PER_MS : now->boot_ns;
	} else if (recent_has(p, ev)) {
		p->st.destroy_duplicates++;
		return;
	} else {
		p->st.destroy_unknown++;
	}
	recent_put(p, ev);
	/* a peer's connection copied here that no packet crossed on this
	 * node: the peer exports it */
	if (injected && ev->has_counters && ev->orig_packets == 0 &&
	    ev->reply_packets == 0) {
		p->st.injected_quiet++;
		return;
	}
	record_conn_init(&c, ev, start, now);
	end_real_ms = c.end_real_ms;	/* the whole connection's, for a delete */
	if (known)
		record_tcp_flags(ev, began_syn, sd.exports == 0, &c.tcp_flags,
				 &c.rtcp_flags);
	if (known && sd.exports > 0 && ev->has_counters)
		take_remainder(&c, &sd, now);
	flags_of_counted(&c);
	/* the peer that created a copied connection sent its NAT events */
	nat = p->nat_events && !injected && record_is_nat(ev);
	/* both events of a session carry the start its create had: the
	 * table's (a NEW event has no kernel stamp), else the kernel's */
	if (!known)
		start = c.start_boot_ns;
	if (nat && !nat_sent)
		nat_event(p, ev, FLOW_KIND_NAT_CREATE, true, start, 0, now);
	p->st.exports++;
	if (!ev->has_counters)
		p->st.exports_no_counters++;
	if (ev->family == AF_INET6)
		p->st.ipv6++;
	p->emit(&c, p->emit_arg);
	if (nat)
		nat_event(p, ev, FLOW_KIND_NAT_DELETE, false, start, end_real_ms,
			  now);
}

/* Every insert and refresh sets FLOW_F_SEEN: a resync (see daemon.c)
 * clears it first and drops what is still unset afterwards. */
void pipeline_event(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now, bool from_dump)
{
	struct flow_entry *e;
	uint64_t start;
	uint16_t flags;
	bool created = false;

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
	if (ev->proto == IPPROTO_TCP && (ev->tcp_state == 1 || ev->tcp_state == 2))
		flags |= FLOW_F_SYN;	/* SYN_SENT, SYN_RECV: a handshake */
	/* in a firewall pair, a NEW that a program asked for is conntrackd
	 * copying the peer's connection (a dump's answers carry our own port
	 * id, but are no NEW); alone, it is someone's `conntrack -I` */
	if (p->pair && ev->type == CT_EVENT_NEW && !from_dump &&
	    ev->requester != 0)
		flags |= FLOW_F_INJECTED;
	e = flowtab_upsert(p->tab, ev, start, flags, &created);
	if (!e) {
		p->st.table_full++;
		return;
	}
	e->flags |= FLOW_F_SEEN;
	if (created && (e->flags & FLOW_F_INJECTED) && !p->standby)
		p->st.peer_copies_active++;
	if (created && p->nat_events && !(e->flags & FLOW_F_INJECTED) &&
	    record_is_nat(ev)) {
		if (from_dump && p->defer_late) {
			e->flags |= FLOW_F_NAT_DUE;
		} else {
			/* the start as the table keeps it (whole ms), which
			 * its delete will carry too */
			e->flags |= FLOW_F_NAT_SENT;
			nat_event(p, ev, FLOW_KIND_NAT_CREATE, from_dump,
				  flowtab_start_ns(e, now->boot_ns), 0, now);
		}
	}
	if (e->flags & FLOW_F_ACTIVE) {
		struct flow_active *a = flowtab_active_get(p->tab, e);

		if (a != NULL)
			a->gone_ns = 0;	/* listed again: not gone */
	}
}

/* The query that reads one entry's counters. */
static void query_of(const struct flowtab *t, const struct flow_entry *e,
		     struct ct_query *q)
{
	const struct flow_addr6 *a6 = flowtab_addr6(t, e);

	memset(q, 0, sizeof(*q));
	q->id = e->id;
	q->proto = e->proto;
	q->zone = e->zone;
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
	a->due_asked = 1;
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
		if (flowtab_age_ms(ce, now_boot_ns) < active_ms)
			continue;
		if (ce->flags & FLOW_F_ACTIVE) {
			const struct flow_active *a = flowtab_active(p->tab, ce);

			if (a == NULL || a->next_query_ns != 0)
				continue;	/* queued already */
		}
		if (!ask(p, flowtab_lookup(p->tab, ce->id), now_boot_ns, &out[n]))
			break;	/* out of memory: try again next time */
		n++;
	}
	n = from_queue(p, now_boot_ns, out, n, max);
	p->st.queries += n;
	return n;
}

/* An interim export of what the reading ev counted since the last export
 * of entry e (export state sd); nothing when it counted nothing. */
static void export_delta(struct pipeline *p, const struct flow_entry *e,
			 struct flow_active *sd, const struct ct_event *ev,
			 const struct time_pair *now)
{
	struct flow_conn c;

	memset(&c, 0, sizeof(c));
	c.ev = ev;
	c.reason = FLOW_END_ACTIVE;
	c.has_counters = true;
	record_tcp_flags(ev, (e->flags & FLOW_F_SYN) != 0, sd->exports == 0,
			 &c.tcp_flags, &c.rtcp_flags);
	c.orig_packets = delta(ev->orig_packets, sd->sent_orig_packets);
	c.orig_bytes = delta(ev->orig_bytes, sd->sent_orig_bytes);
	c.reply_packets = delta(ev->reply_packets, sd->sent_reply_packets);
	c.reply_bytes = delta(ev->reply_bytes, sd->sent_reply_bytes);
	if (c.orig_packets == 0 && c.reply_packets == 0)
		return;	/* idle since the last export: nothing to say */
	flags_of_counted(&c);
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

void pipeline_interim(struct pipeline *p, const struct ct_event *ev,
		      const struct time_pair *now)
{
	struct flow_entry *e = flowtab_lookup(p->tab, ev->id);
	struct flow_active *sd;

	if (e == NULL || !ev->has_counters) {
		p->st.query_stale++;
		return;
	}
	if (!flowtab_same_conn(p->tab, e, ev)) {
		/* the id now names a connection begun after ours ended
		 * unseen: ours is lost, the new one is learnt */
		p->st.replaced++;
		flowtab_remove(p->tab, ev->id, NULL, NULL);
		pipeline_event(p, ev, now, true);
		return;
	}
	sd = flowtab_active_get(p->tab, e);
	if (sd == NULL) {
		p->st.query_stale++;
		return;
	}
	sd->gone_ns = 0;
	if (sd->ttl_asked_ns != 0) {
		p->st.ttl_alive++;
		sd->ttl_alive_ns = now->boot_ns;
		sd->ttl_asked_ns = 0;
	}
	if (p->active_ns == 0 || !sd->due_asked)
		return;	/* a ttl check of a connection not due for export */
	sd->due_asked = 0;
	export_delta(p, e, sd, ev, now);
}

void pipeline_handover(struct pipeline *p, const struct ct_event *ev,
		       const struct time_pair *now)
{
	struct flow_entry *e;
	struct flow_active *sd;

	if (ev->type == CT_EVENT_DESTROY || !ev->has_counters)
		return;
	pipeline_event(p, ev, now, true);	/* learn what was not known */
	e = flowtab_lookup(p->tab, ev->id);
	if (e == NULL || !flowtab_same_conn(p->tab, e, ev))
		return;	/* our own export flow, or the table is full */
	sd = flowtab_active_get(p->tab, e);
	if (sd == NULL)
		return;	/* out of memory: its counts go with its DESTROY */
	p->st.handed_over++;
	export_delta(p, e, sd, ev, now);
}

void pipeline_gone(struct pipeline *p, uint32_t id, uint64_t now_boot_ns)
{
	struct flow_entry *e = flowtab_lookup(p->tab, id);
	struct flow_active *a = e ? flowtab_active_get(p->tab, e) : NULL;

	if (a != NULL && a->gone_ns == 0)
		a->gone_ns = now_boot_ns ? now_boot_ns : 1;
}

struct ttl_walk {
	struct pipeline *p;
	uint64_t now;
	struct ct_query *out;
	size_t n, max;
};

/* One entry of the ttl pass: drop (true), leave, or ask the kernel. */
static bool ttl_entry(struct flowtab *t, struct flow_entry *e, void *arg)
{
	struct ttl_walk *w = arg;
	struct pipeline *p = w->p;
	struct flow_active *a = NULL;

	if (e->flags & FLOW_F_ACTIVE)
		a = flowtab_active_get(t, e);
	if (a != NULL && a->gone_ns != 0 &&
	    w->now - a->gone_ns >= PIPELINE_GONE_GRACE_NS) {
		if (a->ttl_asked_ns != 0)
			p->st.ttl_expired++;
		else
			p->st.gone++;
		return true;
	}
	if (p->ttl_ns == 0 ||
	    flowtab_age_ms(e, w->now) <= p->ttl_ns / NS_PER_MS)
		return false;
	if (!p->ttl_ask) {
		p->st.ttl_expired++;
		return true;
	}
	if (a != NULL && a->ttl_alive_ns != 0 &&
	    w->now - a->ttl_alive_ns < p->ttl_ns)
		return false;	/* confirmed alive less than a ttl ago */
	if ((a != NULL && a->ttl_asked_ns != 0 &&
	     w->now - a->ttl_asked_ns < PIPELINE_TTL_RETRY_NS) || w->n >= w->max)
		return false;
	if (a == NULL && (a = flowtab_active_get(t, e)) == NULL)
		return false;	/* out of memory: next time */
	a->ttl_asked_ns = w->now ? w->now : 1;
	query_of(t, e, &w->out[w->n++]);
	return false;
}

size_t pipeline_ttl(struct pipeline *p, uint64_t now_boot_ns,
		    struct ct_query *out, size_t max)
{
	struct ttl_walk w = { p, now_boot_ns, out, 0, max };

	flowtab_filter(p->tab, ttl_entry, &w);
	p->st.queries += w.n;
	return w.n;
}

/* True when the state record describes the live entry. */
static bool rec_is_entry(const struct flowtab *t, const struct flow_entry *e,
			 const struct statefile_rec *r)
{
	const struct flow_addr6 *a6 = flowtab_addr6(t, e);

	if ((r->family == AF_INET6) != (a6 != NULL) || r->proto != e->proto ||
	    r->zone != e->zone ||
	    memcmp(&r->orig, &e->orig, sizeof(r->orig)) != 0 ||
	    memcmp(&r->reply, &e->reply, sizeof(r->reply)) != 0 ||
	    (a6 != NULL && (memcmp(&r->orig6, &a6->orig6, sizeof(r->orig6)) != 0 ||
			    memcmp(&r->reply6, &a6->reply6, sizeof(r->reply6)) != 0)))
		return false;
	return !((r->flags & FLOW_F_KERNEL_START) &&
		 (e->flags & FLOW_F_KERNEL_START)) || r->kstart == e->kstart;
}

long pipeline_restore(struct pipeline *p, const struct statefile_rec *recs,
		      size_t n, const struct time_pair *now)
{
	size_t i;
	long matched = 0;

	free(p->limbo);
	p->limbo = n ? malloc(n * sizeof(*p->limbo)) : NULL;
	p->nlimbo = 0;
	if (n && p->limbo == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct statefile_rec *r = &recs[i];
		struct flow_entry *e = flowtab_lookup(p->tab, r->id);
		struct flow_active *a;

		if (e == NULL || !rec_is_entry(p->tab, e, r)) {
			p->limbo[p->nlimbo++] = *r;
			continue;
		}
		matched++;
		/* what an earlier run knew: the handshake, the create sent,
		 * and the start it exported (a NEW has no kernel stamp: the
		 * dump's may be a little earlier) */
		e->flags |= r->flags & (FLOW_F_SYN | FLOW_F_NAT_SENT);
		if (e->flags & FLOW_F_NAT_SENT)
			e->flags &= (uint16_t)~FLOW_F_NAT_DUE;
		if (r->start_ms * NS_PER_MS <= now->boot_ns)
			flowtab_set_start_ms(e, r->start_ms);
		if (r->exports == 0)
			continue;	/* nothing was exported of it yet */
		if ((a = flowtab_active_get(p->tab, e)) == NULL) {
			/* out of memory: the file is ignored, and so are the
			 * ended connections gathered so far (unsorted) */
			free(p->limbo);
			p->limbo = NULL;
			p->nlimbo = 0;
			return -1;
		}
		rec_active(r, a);
		if (p->active_ns != 0) {
			uint64_t due = r->last_end_ns + p->active_ns;

			a->next_query_ns = due > now->boot_ns ? due : now->boot_ns;
		}
	}
	dq_rebuild(p);	/* the restored states in due order */
	if (p->nlimbo > 1)
		qsort(p->limbo, p->nlimbo, sizeof(*p->limbo), rec_cmp);
	p->limbo_until_ns = now->boot_ns + PIPELINE_GONE_GRACE_NS;
	p->limbo_real_ms = now->real_ns / NS_PER_MS;
	p->st.state_restored += (uint64_t)matched;
	return matched;
}

size_t pipeline_expire_restored(struct pipeline *p, const struct time_pair *now)
{
	size_t i, done = 0;

	if (p->limbo == NULL || now->boot_ns < p->limbo_until_ns)
		return 0;
	for (i = 0; i < p->nlimbo; i++) {
		const struct statefile_rec *r = &p->limbo[i];
		struct ct_event ev;
		struct flow_active sd;
		struct flow_conn c;
		uint64_t start = r->start_ms * NS_PER_MS;

		if (r->family == 0)
			continue;	/* its DESTROY came */
		memset(&ev, 0, sizeof(ev));
		ev.type = CT_EVENT_DESTROY;
		ev.id = r->id;
		ev.family = r->family;
		ev.proto = r->proto;
		ev.tcp_state = r->tcp_state;
		ev.zone = r->zone;
		ev.orig = r->orig;
		ev.reply = r->reply;
		ev.orig6 = r->orig6;
		ev.reply6 = r->reply6;
		ev.has_counters = r->has_seen;
		ev.orig_packets = r->seen_orig_packets;
		ev.orig_bytes = r->seen_orig_bytes;
		ev.reply_packets = r->seen_reply_packets;
		ev.reply_bytes = r->seen_reply_bytes;
		record_conn_init(&c, &ev, start < now->boot_ns ? start : now->boot_ns,
				 now);
		/* it ended after the last reading we have, before now */
		c.end_boot_ns = r->has_seen ? r->seen_boot_ns : c.start_boot_ns;
		if (c.end_boot_ns < c.start_boot_ns || c.end_boot_ns > now->boot_ns)
			c.end_boot_ns = c.start_boot_ns;
		c.end_real_ms = record_boot_to_real_ms(now, c.end_boot_ns);
		c.reason = FLOW_END_FORCED;
		rec_active(r, &sd);
		record_tcp_flags(&ev, (r->flags & FLOW_F_SYN) != 0,
				 sd.exports == 0, &c.tcp_flags, &c.rtcp_flags);
		if (sd.exports > 0 && r->has_seen)
			take_remainder(&c, &sd, now);
		flags_of_counted(&c);
		p->st.exports++;
		p->st.ended_unseen++;
		if (!c.has_counters)
			p->st.exports_no_counters++;
		if (ev.family == AF_INET6)
			p->st.ipv6++;
		p->emit(&c, p->emit_arg);
		if (p->nat_events && record_is_nat(&ev)) {
			/* it ended while no daemon listened: the session was
			 * held until the restart at the latest, the only bound
			 * known */
			if (!(r->flags & FLOW_F_NAT_SENT))
				nat_event(p, &ev, FLOW_KIND_NAT_CREATE, true,
					  c.start_boot_ns, 0, now);
			nat_event(p, &ev, FLOW_KIND_NAT_DELETE, false,
				  c.start_boot_ns, p->limbo_real_ms, now);
		}
		done++;
	}
	free(p->limbo);
	p->limbo = NULL;
	p->nlimbo = 0;
	return done;
}

void pipeline_state_rec(const struct pipeline *p, const struct flow_entry *e,
			struct statefile_rec *r)
{
	const struct flow_addr6 *a6 = flowtab_addr6(p->tab, e);
	const struct flow_active *a = flowtab_active(p->tab, e);

	memset(r, 0, sizeof(*r));
	r->id = e->id;
	r->family = a6 ? AF_INET6 : AF_INET;
	r->proto = e->proto;
	r->tcp_state = e->tcp_state;
	r->zone = e->zone;
	r->flags = e->flags & STATEFILE_REC_FLAGS;
	r->kstart = e->kstart;
	r->start_ms = flowtab_start_ms(e);
	r->orig = e->orig;
	r->reply = e->reply;
	if (a6 != NULL) {
		r->orig6 = a6->orig6;
		r->reply6 = a6->reply6;
	}
	if (a != NULL && a->exports > 0) {
		r->sent_orig_packets = a->sent_orig_packets;
		r->sent_orig_bytes = a->sent_orig_bytes;
		r->sent_reply_packets = a->sent_reply_packets;
		r->sent_reply_bytes = a->sent_reply_bytes;
		r->last_end_ns = a->last_end_ns;
		r->last_end_real_ms = a->last_end_real_ms;
		r->exports = a->exports;
	}
}

/* The event that describes a live entry (tuples, zone, family). */
static void entry_event(const struct flowtab *t, const struct flow_entry *e,
			struct ct_event *ev)
{
	const struct flow_addr6 *a6 = flowtab_addr6(t, e);

	memset(ev, 0, sizeof(*ev));
	ev->type = CT_EVENT_UPDATE;
	ev->id = e->id;
	ev->family = a6 ? AF_INET6 : AF_INET;
	ev->proto = e->proto;
	ev->tcp_state = e->tcp_state;
	ev->zone = e->zone;
	ev->orig = e->orig;
	ev->reply = e->reply;
	if (a6 != NULL) {
		ev->orig6 = a6->orig6;
		ev->reply6 = a6->reply6;
	}
}

struct late_walk {
	struct pipeline *p;
	const struct time_pair *now;
	size_t n;
};

static bool late_entry(struct flowtab *t, struct flow_entry *e, void *arg)
{
	struct late_walk *w = arg;
	struct ct_event ev;

	if (!(e->flags & FLOW_F_NAT_DUE))
		return false;
	e->flags &= (uint16_t)~FLOW_F_NAT_DUE;
	if ((e->flags & FLOW_F_NAT_SENT) || !w->p->nat_events)
		return false;
	entry_event(t, e, &ev);
	if (!record_is_nat(&ev))
		return false;
	e->flags |= FLOW_F_NAT_SENT;
	nat_event(w->p, &ev, FLOW_KIND_NAT_CREATE, true,
		  flowtab_start_ns(e, w->now->boot_ns), 0, w->now);
	w->n++;
	return false;
}

size_t pipeline_late_creates(struct pipeline *p, const struct time_pair *now)
{
	struct late_walk w = { p, now, 0 };

	p->defer_late = false;
	if (p->nat_events)
		flowtab_filter(p->tab, late_entry, &w);
	return w.n;
}

/* Frees the table. */
void pipeline_free(struct pipeline *p)
{
	if (p->tab)
		flowtab_free(p->tab);
	p->tab = NULL;
	free(p->dq);
	p->dq = NULL;
	free(p->recent);
	p->recent = NULL;
	free(p->limbo);
	p->limbo = NULL;
	p->nlimbo = 0;
	p->dq_cap = p->dq_len = p->dq_head = 0;
}
