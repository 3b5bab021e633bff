/* Reading a clock as one number. */
#ifndef NFFLOWD_CLOCK_H
#define NFFLOWD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of clock id (CLOCK_MONOTONIC, CLOCK_BOOTTIME, ...). */
static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
