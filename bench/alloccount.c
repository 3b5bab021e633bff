/* Counting replacements for malloc, calloc and realloc. glibc routes its own
 * internal allocations through the replaced symbols too, so allocations made
 * inside libc (syslog, stdio) and other libraries are counted as well. */
#include "alloccount.h"

#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static uint64_t allocations;

/* Counts one allocation; atomic because the sink threads may allocate. */
static void count(void)
{
	__atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

uint64_t alloccount_get(void)
{
	return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

/* Counted malloc. */
void *malloc(size_t size)
{
	count();
	return __libc_malloc(size);
}

/* Counted calloc. */
void *calloc(size_t n, size_t size)
{
	count();
	return __libc_calloc(n, size);
}

/* Counted realloc. */
void *realloc(void *p, size_t size)
{
	count();
	return __libc_realloc(p, size);
}

/* free, so that every block goes back to the allocator it came from. */
void free(void *p)
{
	__libc_free(p);
}
