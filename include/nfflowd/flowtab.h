/* The live table: conntrack entries seen alive, keyed by conntrack id
 * (pure, no clocks: times are passed in). */
#ifndef NFFLOWD_FLOWTAB_H
#define NFFLOWD_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

/* What DESTROY does not carry or what the state dump shows. */
struct flow_entry {
	uint32_t id;
	uint8_t proto;
	uint8_t tcp_state;
	uint16_t flags;		/* FLOW_F_* */
	struct ct_tuple orig;
	struct ct_tuple reply;
	uint64_t start_boot_ns;	/* first known start, boot clock */
};

#define FLOW_F_FROM_DUMP 0x1	/* first seen in a table dump, not a NEW */
#define FLOW_F_KERNEL_START 0x2	/* start_boot_ns came from a kernel stamp */
#define FLOW_F_SEEN 0x4		/* listed by the current resync dump */

struct flowtab;

/* Creates an empty table; max_entries bounds it (0 = unbounded). */
struct flowtab *flowtab_new(size_t max_entries);
void flowtab_free(struct flowtab *t);

/* Inserts an entry for the event, or refreshes the existing one with the
 * same id. start_boot_ns is recorded only on insert (or when the existing
 * entry's tuple differs, which means the id was reused). Returns the entry,
 * or NULL when the table is full or out of memory. *created tells which. */
struct flow_entry *flowtab_upsert(struct flowtab *t, const struct ct_event *ev,
				  uint64_t start_boot_ns, uint16_t flags,
				  bool *created);

struct flow_entry *flowtab_lookup(const struct flowtab *t, uint32_t id);

/* Removes the entry with this id; copies it to *out when out is non-NULL.
 * Returns false if there was none. */
bool flowtab_remove(struct flowtab *t, uint32_t id, struct flow_entry *out);

/* Removes every entry whose start is more than ttl_ns before now_boot_ns.
 * Returns how many were removed. */
size_t flowtab_sweep(struct flowtab *t, uint64_t now_boot_ns, uint64_t ttl_ns);

/* Resynchronisation after lost events: clear a flag on every entry, set it
 * on each entry a fresh dump lists, then remove the entries that lack it
 * (they vanished without a DESTROY we saw). Returns how many were removed. */
void flowtab_clear_flag(struct flowtab *t, uint16_t flag);
size_t flowtab_remove_unflagged(struct flowtab *t, uint16_t flag);

size_t flowtab_count(const struct flowtab *t);

/* Calls fn for each entry, in no particular order; fn must not modify t. */
void flowtab_foreach(const struct flowtab *t,
		     void (*fn)(const struct flow_entry *e, void *arg),
		     void *arg);

/* Resumable iteration for a dump served in chunks: the next entry at or
 * after slot *cursor (start at 0), advancing *cursor past it; NULL at the
 * end. Entries that move between calls may be missed or seen twice. */
const struct flow_entry *flowtab_next(const struct flowtab *t, size_t *cursor);

/* Bytes of heap the table uses now (for the README and the benchmarks). */
size_t flowtab_memory(const struct flowtab *t);

#endif
