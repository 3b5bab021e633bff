/* The state file on disk (I/O around the pure statefile module): written
 * atomically (temporary file, fsync, rename, fsync of the directory), read
 * back whole and checked before anything in it is used. */
#ifndef NFFLOWD_STATE_H
#define NFFLOWD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nfflowd/statefile.h"
#include "nfflowd/types.h"

/* A state file being written. */
struct state_out {
	FILE *f;
	char path[300];
	char tmp[310];
	struct statefile_writer w;
	uint64_t bytes;
	bool failed;
	int err;
};

/* This boot's id (/proc/sys/kernel/random/boot_id) as 16 bytes; all zero
 * when it cannot be read. */
void state_boot_id(uint8_t id[16]);

/* The network namespace we run in (its inode); a state file of another
 * namespace describes another conntrack table. */
uint64_t state_netns(void);

/* Opens path's temporary file (creating path's directory, mode 0750, if
 * missing) and writes the header. 0, or -1 with err. */
int state_begin(struct state_out *o, const char *path, uint32_t flags,
		const struct time_pair *now, char *err, size_t errlen);

/* Appends one record (errors are remembered for state_commit). */
void state_put(struct state_out *o, const struct statefile_rec *r);

/* Writes the trailer, syncs, and renames the file into place. 0, or -1
 * with err (the temporary file is removed, the old state file kept). */
int state_commit(struct state_out *o, char *err, size_t errlen);

/* Reads and checks the whole file, then calls fn for each record. A file
 * of another boot is refused (its connections are gone with that boot),
 * and so is one of another network namespace (another conntrack table).
 * Returns the number of records, 0 when there is no file, or -1 with err. */
long state_read(const char *path, statefile_rec_fn fn, void *arg,
		struct statefile_header *h, char *err, size_t errlen);

#endif
