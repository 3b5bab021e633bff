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
	uint32_t start_ms;	/* first known start: boot-clock ms, bits 0-31 */
	uint16_t start_ms_hi;	/* ... and bits 32-47 (flowtab_start_ms) */
	uint16_t zone;		/* conntrack zone */
	uint32_t kstart;	/* with FLOW_F_KERNEL_START: the low 32 bits
				 * of the kernel's start stamp (ns), which
				 * tell a reused id's new connection apart */
};

#define FLOW_F_FROM_DUMP 0x1	/* first seen in a table dump, not a NEW */
#define FLOW_F_KERNEL_START 0x2	/* the start came from a kernel stamp */
#define FLOW_F_SEEN 0x4		/* listed by the current resync dump */
#define FLOW_F_INET6 0x8	/* IPv6: its addresses are in flowtab_addr6 */
#define FLOW_F_ACTIVE 0x10	/* has an export state (flowtab_active) */
#define FLOW_F_MARK 0x20	/* scratch mark of one pass (state writer) */
#define FLOW_F_SYN 0x40		/* began with a SYN (SYN_SENT or SYN_RECV
				 * when first seen), not picked up mid-stream */
#define FLOW_F_NAT_SENT 0x80	/* its NAT create event has been sent */
#define FLOW_F_NAT_DUE 0x100	/* found by a dump: a late create is due
				 * (pipeline_late_creates) */
#define FLOW_F_INJECTED 0x200	/* created by a program's request (a NEW
				 * with a requester: conntrackd's copy of a
				 * peer firewall's connection), not by a
				 * packet through this node */

/* What only some entries need is kept apart, so that the common IPv4
 * entry stays 36 bytes: the addresses of IPv6 entries ... */
struct flow_addr6 {
	struct ct_addr6 orig6;
	struct ct_addr6 reply6;
};

/* ... and the export state of connections that outlived the active
 * timeout. */
struct flow_active {
	uint64_t sent_orig_packets;	/* exported by interim exports so far */
	uint64_t sent_orig_bytes;
	uint64_t sent_reply_packets;
	uint64_t sent_reply_bytes;
	uint64_t last_end_ns;		/* boot clock: end of the last interim
					 * export, 0 before the first */
	uint64_t last_end_real_ms;	/* the same as exported, Unix ms, so
					 * the next export starts there exactly */
	uint64_t next_query_ns;		/* boot clock: counters read next */
	uint64_t ttl_asked_ns;		/* boot clock: past ttl, the kernel was
					 * asked whether it still exists */
	uint64_t ttl_alive_ns;		/* ... and said yes then */
	uint64_t gone_ns;		/* the kernel said it has no such entry
					 * (its DESTROY may still be coming) */
	uint32_t exports;		/* interim exports so far */
	uint32_t due_asked;		/* the active timeout asked for the
					 * reading now awaited (not only a
					 * ttl check) */
};

struct flowtab;

/* Creates an empty table; max_entries bounds it (0 = unbounded). */
struct flowtab *flowtab_new(size_t max_entries);
void flowtab_free(struct flowtab *t);

/* Inserts an entry for the event, or refreshes the existing one with the
 * same id. start_boot_ns is recorded (as start_ms) only on insert (or when
 * the existing entry's tuple differs, which means the id was reused). Returns the entry,
 * or NULL when the table is full or out of memory. *created tells which. */
struct flow_entry *flowtab_upsert(struct flowtab *t, const struct ct_event *ev,
				  uint64_t start_boot_ns, uint16_t flags,
				  bool *created);

struct flow_entry *flowtab_lookup(const struct flowtab *t, uint32_t id);

/* Asks the CPU to fetch, ahead of their events, the index slots of n ids
 * and then the entries they find: a batch of events that finds its slots
 * and entries in the cache waits for memory about once rather than twice
 * per event. Changes nothing; the ids need not be in the table. */
void flowtab_prefetch(const struct flowtab *t, const uint32_t *ids, size_t n);

/* Removes the entry with this id; copies it to *out when out is non-NULL,
 * and its export state to *active (all zero when it had none) when active
 * is non-NULL. Returns false if there was none. */
bool flowtab_remove(struct flowtab *t, uint32_t id, struct flow_entry *out,
		    struct flow_active *active);

/* flowtab_remove for a DESTROY: tells in *same whether the entry under
 * the id is the event's connection (flowtab_same_conn), and removes it
 * only then. Another connection's entry stays: the kernel's conntrack ids
 * are 32-bit hashes, not unique, so two live connections can share one
 * (with 7,000 live connections a 300,000-connection burst here met about
 * one such pair per run; at a million live, every few thousand new
 * connections meet one), and the DESTROY of one must not take the other's
 * state. A stale entry whose DESTROY was lost goes with the resync that
 * the loss triggers, or at its ttl check. */
bool flowtab_remove_conn(struct flowtab *t, uint32_t id,
			 const struct ct_event *ev, bool *same,
			 struct flow_entry *out, struct flow_active *active);

/* An IPv6 entry's addresses; NULL for IPv4 entries. Valid until the next
 * change to the table. */
const struct flow_addr6 *flowtab_addr6(const struct flowtab *t,
				       const struct flow_entry *e);

/* The entry's export state, or NULL when it has none. */
const struct flow_active *flowtab_active(const struct flowtab *t,
					 const struct flow_entry *e);

/* The entry's export state, created all zero if it had none (sets
 * FLOW_F_ACTIVE). NULL when out of memory. Valid until the next change. */
struct flow_active *flowtab_active_get(struct flowtab *t, struct flow_entry *e);

/* True when the event describes the connection of the entry (same
 * protocol, zone and tuples, IPv6 addresses included, and the same kernel
 * start stamp where both have one): a different one under the same id
 * means the id was reused. */
bool flowtab_same_conn(const struct flowtab *t, const struct flow_entry *e,
		       const struct ct_event *ev);

/* The entry's start: boot-clock milliseconds (48 bits, 8,900 years). */
uint64_t flowtab_start_ms(const struct flow_entry *e);

/* Sets the entry's start (what a state file says an earlier run used). */
void flowtab_set_start_ms(struct flow_entry *e, uint64_t start_ms);

/* Milliseconds from the entry's start to now_boot_ns; 0 for a start after
 * now (a kernel stamp slightly ahead of our clock reading). */
uint64_t flowtab_age_ms(const struct flow_entry *e, uint64_t now_boot_ns);

/* The entry's start on the boot clock, to the millisecond; now_boot_ns
 * for a start after now. */
uint64_t flowtab_start_ns(const struct flow_entry *e, uint64_t now_boot_ns);

/* Removes every entry whose age is more than ttl_ns (in whole ms) at
 * now_boot_ns. Returns how many were removed. */
size_t flowtab_sweep(struct flowtab *t, uint64_t now_boot_ns, uint64_t ttl_ns);

/* Calls fn for each entry (it may change the entry's flags and export
 * state, not the table otherwise) and removes those for which it returns
 * true. Returns how many were removed. */
size_t flowtab_filter(struct flowtab *t,
		      bool (*fn)(struct flowtab *t, struct flow_entry *e,
				 void *arg),
		      void *arg);

/* Sets flag on every entry. */
void flowtab_set_flag(struct flowtab *t, uint16_t flag);

/* Resynchronisation after lost events: clear a flag on every entry, set it
 * on each entry a fresh dump lists, then remove the entries that lack it
 * (they vanished without a DESTROY we saw). Returns how many were removed. */
void flowtab_clear_flag(struct flowtab *t, uint16_t flag);
size_t flowtab_remove_unflagged(struct flowtab *t, uint16_t flag);

size_t flowtab_count(const struct flowtab *t);

/* Entries that a NEW or dump entry with the same id but another tuple
 * replaced: the kernel reused the id of a connection whose DESTROY we
 * never saw (lost events), so that connection ended unexported. */
uint64_t flowtab_replaced(const struct flowtab *t);

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

/* Side records held now (IPv6 addresses and export states). */
size_t flowtab_side_count(const struct flowtab *t);

#endif
