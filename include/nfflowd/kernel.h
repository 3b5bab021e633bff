/* The conntrack sysctls nfflowd depends on (per network namespace). */
#ifndef NFFLOWD_KERNEL_H
#define NFFLOWD_KERNEL_H

#define KERNEL_ACCT "nf_conntrack_acct"
#define KERNEL_TIMESTAMP "nf_conntrack_timestamp"
#define KERNEL_EVENTS "nf_conntrack_events"

/* Value of /proc/sys/net/netfilter/NAME, or -1 (errno set) if unreadable,
 * e.g. because nf_conntrack is not loaded. */
int kernel_get(const char *name);

/* Writes value to /proc/sys/net/netfilter/NAME; 0 or -1 (errno set). */
int kernel_set(const char *name, int value);

#endif
