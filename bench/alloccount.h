/* Benchmark helper: counts heap allocations of the whole process by
 * replacing malloc, calloc and realloc with counting wrappers around
 * glibc's own allocator (glibc documents replacing malloc this way). */
#ifndef NFFLOWD_BENCH_ALLOCCOUNT_H
#define NFFLOWD_BENCH_ALLOCCOUNT_H

#include <stdint.h>

/* Calls to malloc, calloc and realloc so far, in every thread. */
uint64_t alloccount_get(void);

#endif
