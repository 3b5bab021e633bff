/* The control socket: a UNIX stream socket (mode 0600) on which a client
 * sends one request line and reads JSON lines back. */
#ifndef NFFLOWD_CONTROL_H
#define NFFLOWD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/flowtab.h"
#include "nfflowd/statejson.h"

#define CONTROL_REQUEST_MAX 256

enum control_request {
	CONTROL_REQ_INVALID = 0,
	CONTROL_REQ_STATE,	/* "state": counters, every entry, end line */
	CONTROL_REQ_COUNTERS,	/* "counters": the counters line only */
	CONTROL_REQ_METRICS,	/* "metrics": Prometheus text (metrics.h) */
	/* "role active", "role standby", "role auto" (back to the address
	 * watch): firewall pairs; answered with the counters line */
	CONTROL_REQ_ROLE_ACTIVE,
	CONTROL_REQ_ROLE_STANDBY,
	CONTROL_REQ_ROLE_AUTO,
};

/* Parses one request (bytes up to but not including '\n'; pure, fuzzed). */
enum control_request control_parse_request(const char *buf, size_t len);

struct event_base;
struct control;

/* What the daemon lends the control socket. */
struct control_source {
	void (*counters)(void *arg, struct state_counters *out);
	const struct flowtab *(*table)(void *arg);
	uint64_t (*now_boot_ns)(void *arg);
	/* The metrics text into buf (METRICS_TEXT_MAX); its length. */
	size_t (*metrics)(void *arg, char *buf, size_t len);
	/* Sets the role (CONTROL_REQ_ROLE_*); NULL: not offered. */
	void (*set_role)(void *arg, enum control_request req);
	void *arg;
};

/* Binds path (replacing a stale socket file, refusing if a live daemon
 * answers there), mode 0600. Returns NULL with err written on failure. */
struct control *control_open(struct event_base *base, const char *path,
			     const struct control_source *src, char *err,
			     size_t errlen);

/* Closes every client and removes the socket file. */
void control_close(struct control *c);

#endif
