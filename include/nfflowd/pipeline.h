/* What happens to one conntrack event (pure): the live table takes NEW and
 * dump entries; a DESTROY leaves it and becomes the records of SPEC §3,
 * handed to an emit callback (the exporter in the daemon, a sink in the
 * benchmarks and tests). */
#ifndef NFFLOWD_PIPELINE_H
#define NFFLOWD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "nfflowd/config.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/record.h"
#include "nfflowd/types.h"

typedef void (*pipeline_emit_fn)(const struct flow_record *r, void *arg);

struct pipeline_stats {
	uint64_t self_ignored;		/* events of our own export flow */
	uint64_t destroy_unknown;	/* DESTROY for an id not in the table */
	uint64_t records;		/* records emitted */
	uint64_t records_no_counters;	/* emitted without accounting */
	uint64_t table_full;		/* entries not stored: table full */
};

/* Export flows of this and earlier configurations: after a reload to
 * another collector the old flow lingers in conntrack until it times out,
 * and it is ours too (SPEC §3: never export our own export traffic). */
#define PIPELINE_SELF_MAX 4

struct pipeline {
	struct flowtab *tab;
	struct record_self self[PIPELINE_SELF_MAX];	/* [0]: current */
	unsigned nself;
	bool untranslated;
	pipeline_emit_fn emit;
	void *emit_arg;
	struct pipeline_stats st;
};

/* Creates the live table (max_entries 0: unbounded). Returns 0 or -1. */
int pipeline_init(struct pipeline *p, size_t max_entries, pipeline_emit_fn emit,
		  void *emit_arg);

/* Takes the settings that shape records from cfg (no pointer is kept);
 * the previous export flow stays recognised as ours. */
void pipeline_configure(struct pipeline *p, const struct config *cfg);

/* Applies one event received at now (from_dump: listed by a table dump). */
void pipeline_event(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now, bool from_dump);

void pipeline_free(struct pipeline *p);

#endif
