/* One conntrack event through the live table into records. */
#include "nfflowd/pipeline.h"

#include <string.h>
#include <netinet/in.h>

/* Creates the table and remembers where records go. */
int pipeline_init(struct pipeline *p, size_t max_entries, pipeline_emit_fn emit,
		  void *emit_arg)
{
	memset(p, 0, sizeof(*p));
	p->tab = flowtab_new(max_entries);
	p->emit = emit;
	p->emit_arg = emit_arg;
	return p->tab ? 0 : -1;
}

/* The daemon's own export flow in host order, and the record options. A
 * changed flow goes in front; the oldest falls off. */
void pipeline_configure(struct pipeline *p, const struct config *cfg)
{
	struct record_self self = { 0, 0, 0 };

	if (cfg->source.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&cfg->source;
		const struct sockaddr_in *c = (const struct sockaddr_in *)&cfg->collector;

		self.source = ntohl(s->sin_addr.s_addr);
		self.collector = ntohl(c->sin_addr.s_addr);
		self.port = cfg->port;
	}
	if (p->nself == 0 || memcmp(&self, &p->self[0], sizeof(self)) != 0) {
		memmove(&p->self[1], &p->self[0],
			(PIPELINE_SELF_MAX - 1) * sizeof(p->self[0]));
		p->self[0] = self;
		if (p->nself < PIPELINE_SELF_MAX)
			p->nself++;
	}
	p->untranslated = cfg->untranslated_records;
}

static bool is_self(const struct pipeline *p, const struct ct_event *ev)
{
	unsigned i;

	for (i = 0; i < p->nself; i++)
		if (record_is_self(ev, &p->self[i]))
			return true;
	return false;
}

static bool same_tuple(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return a->src == b->src && a->dst == b->dst && a->sport == b->sport &&
	       a->dport == b->dport;
}

/* Takes the entry out and emits its records. Without an entry (the
 * connection began before we listened and was not in the dump, or its id
 * was reused) the start is the DESTROY itself unless the kernel stamped it. */
static void destroy(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now)
{
	struct flow_record recs[RECORD_MAX_PER_EVENT];
	struct flow_entry e;
	uint64_t start = now->boot_ns;
	unsigned i, n;

	if (flowtab_remove(p->tab, ev->id, &e) && same_tuple(&e.orig, &ev->orig))
		start = flowtab_start_ns(&e, now->boot_ns);
	else
		p->st.destroy_unknown++;
	n = record_build(ev, start, now, p->untranslated, recs);
	p->st.records += n;
	if (!ev->has_counters)
		p->st.records_no_counters += n;
	for (i = 0; i < n; i++)
		p->emit(&recs[i], p->emit_arg);
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

/* Frees the table. */
void pipeline_free(struct pipeline *p)
{
	if (p->tab)
		flowtab_free(p->tab);
	p->tab = NULL;
}
