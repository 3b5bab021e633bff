/* JSON configuration (SPEC §2): bytes -> validated struct config (pure). */
#include "nfflowd/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1024 * 1024)
#define TTL_DEFAULT 604800u
/* Ten years: the live table keeps 48-bit millisecond starts, so any age
 * is read right; the bound only keeps the value sane. */
#define TTL_MAX 315360000
#define FLUSH_INTERVAL_MAX 3600.0
#define NETLINK_BUFFER_MIN 65536u
#define NETLINK_BUFFER_MAX 1073741824u
#define SHOWN_MAX 48		/* longest user text quoted back in a message */
#define ACTIVE_TIMEOUT_MAX 2000000
#define TEMPLATE_PACKETS_MAX 1000000
#define TEMPLATE_SECONDS_MAX 86400
#define KEY_MAX 64		/* "collectors[N].address" and the like */
#define CHECKPOINT_INTERVAL_MAX 86400
#define RESYNC_INTERVAL_MAX 3600
#define HANDOVER_DELAY_MAX 60

struct name_value {
	const char *name;
	int value;
};

static const struct name_value facilities[] = {
	{ "kern", LOG_KERN }, { "user", LOG_USER }, { "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
	{ "syslog", LOG_SYSLOG }, { "lpr", LOG_LPR }, { "news", LOG_NEWS },
	{ "uucp", LOG_UUCP }, { "cron", LOG_CRON },
	{ "authpriv", LOG_AUTHPRIV }, { "ftp", LOG_FTP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const struct name_value priorities[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
	{ "err", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

static const char *const top_keys[] = {
	"source", "collector", "port", "args", "ttl", "flush_interval",
	"engine_type", "engine_id", "untranslated_records", "syslog",
	"stdout", "pidfile", "control_socket", "kernel_setup",
	"netlink_buffer", "netlink_reliable", "collectors", "active_timeout",
	"template_refresh_packets", "template_refresh_seconds", "interfaces",
	"state_file", "checkpoint_interval", "resync_interval", "metrics_file",
	"observation_domain", "active_when_address", "handover_delay",
};

static const char *const collector_keys[] = {
	"address", "port", "source", "version", "nat_events", "flows",
};

/* The values of a collector's `nat_events`, by enum nfx_nat_mode. */
static const char *const nat_modes[] = { "off", "rfc8158", "legacy" };

static const char *const syslog_keys[] = {
	"enabled", "facility", "priority", "ident", "socket", "backlog",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Writes "NAME: <message>" into err and returns -1. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *name,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return -1;
	n = snprintf(err, errlen, "%s: ", name ? name : "(config)");
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies user text for quoting in a message: printable ASCII only, cut short. */
static void shown(char *out, size_t outlen, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Names a JSON value's type the way a user reads it. */
static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a fractional number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* Edit distance between a and b counting insertions, deletions,
 * substitutions and swaps of neighbours (optimal string alignment); gives up
 * (returns SIZE_MAX) when the lengths alone differ by more than 2. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
	size_t d[36][36];
	size_t blen = strlen(b);
	size_t i, j;

	if (blen + 2 >= COUNT(d) || alen > blen + 2 || blen > alen + 2)
		return SIZE_MAX;
	for (i = 0; i <= alen; i++)
		d[i][0] = i;
	for (j = 0; j <= blen; j++)
		d[0][j] = j;
	for (i = 1; i <= alen; i++) {
		for (j = 1; j <= blen; j++) {
			size_t best = d[i - 1][j - 1] +
				      (a[i - 1] == b[j - 1] ? 0 : 1);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[alen][blen];
}

/* Returns the known key closest to key when it is close enough to be a
 * likely typo, else NULL. */
static const char *nearest_key(const char *key, size_t keylen,
			       const char *const *known, size_t nknown)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	size_t i;

	for (i = 0; i < nknown; i++) {
		size_t d = edit_distance(key, keylen, known[i]);

		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	if (best == NULL || best_d > 2 || best_d * 3 > strlen(best))
		return NULL;
	return best;
}

/* Reports an unknown key, with a suggestion when one is close; owner, when
 * not NULL, names the object the key was found in. */
static int fail_unknown(char *err, size_t errlen, const char *name,
			const char *owner, const char *prefix, const char *key,
			const char *const *known, size_t nknown)
{
	char show[SHOWN_MAX];
	char where[KEY_MAX + 16] = "";
	size_t keylen = strlen(key);
	const char *near = nearest_key(key, keylen, known, nknown);

	if (owner != NULL)
		snprintf(where, sizeof(where), "key '%s': ", owner);
	shown(show, sizeof(show), key, keylen);
	if (near != NULL)
		return fail(err, errlen, name,
			    "%sunknown key '%s%s' (did you mean '%s%s'?)",
			    where, prefix, show, prefix, near);
	return fail(err, errlen, name, "%sunknown key '%s%s'", where, prefix,
		    show);
}

/* Looks a name up in a name/value table; -1 when absent. */
static int lookup_value(const struct name_value *t, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, s) == 0)
			return t[i].value;
	return -1;
}

/* Looks a value up in a name/value table; "unknown" when absent. */
static const char *lookup_name(const struct name_value *t, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return "unknown";
}

/* Joins the names of a table into "a, b, c" for messages. */
static void list_names(char *out, size_t outlen, const struct name_value *t,
		       size_t n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s",
				 i ? ", " : "", t[i].name);

		if (w < 0 || (size_t)w >= outlen - o)
			return;
		o += (size_t)w;
	}
}

/* Reads an integer within [lo, hi]; reports "must be <what>" otherwise. */
static int get_int(const json_t *v, const char *key, json_int_t lo,
		   json_int_t hi, const char *what, json_int_t *out,
		   const char *name, char *err, size_t errlen)
{
	json_int_t x = 0;

	if (!json_is_integer(v))
		return fail(err, errlen, name, "key '%s': must be %s, not %s",
			    key, what, type_name(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(err, errlen, name,
			    "key '%s': must be %s, not %" JSON_INTEGER_FORMAT,
			    key, what, x);
	*out = x;
	return 0;
}

/* Reads a JSON boolean. */
static int get_bool(const json_t *v, const char *key, bool *out,
		    const char *name, char *err, size_t errlen)
{
	if (!json_is_boolean(v))
		return fail(err, errlen, name,
			    "key '%s': must be true or false, not %s",
			    key, type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* Reads an absolute path that fits in outlen bytes with its NUL. */
static int get_path(const json_t *v, const char *key, char *out,
		    size_t outlen, const char *name, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return fail(err, errlen, name,
			    "key '%s': must be an absolute path string, not %s",
			    key, type_name(v));
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || s[0] != '/') {
		char show[SHOWN_MAX];

		shown(show, sizeof(show), s, len);
		return fail(err, errlen, name,
			    "key '%s': must be an absolute path (starting with /), not '%s'",
			    key, show);
	}
	if (len >= outlen)
		return fail(err, errlen, name,
			    "key '%s': path is %zu bytes long, at most %zu allowed",
			    key, len, outlen - 1);
	memcpy(out, s, len + 1);
	return 0;
}

/* Reads a file key that may be off: an absolute path like get_path, or ""
 * for none (what names the file in messages: "state file"). */
static int get_optional_path(const json_t *v, const char *key, const char *what,
			     char *out, size_t outlen, const char *name,
			     char *err, size_t errlen)
{
	if (!json_is_string(v))
		return fail(err, errlen, name,
			    "key '%s': must be an absolute path string, or \"\" for no %s, not %s",
			    key, what, type_name(v));
	if (json_string_length(v) == 0) {
		out[0] = '\0';
		return 0;
	}
	return get_path(v, key, out, outlen, name, err, errlen);
}

/* Parses an IPv4 or IPv6 literal into ss (port 0); returns its family or
 * reports the key. */
static int get_addr(const json_t *v, const char *key, char *text,
		    size_t textlen, struct sockaddr_storage *ss,
		    const char *name, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	char show[SHOWN_MAX];

	if (!json_is_string(v))
		return fail(err, errlen, name,
			    "key '%s': must be an IPv4 or IPv6 address string, not %s",
			    key, type_name(v));
	s = json_string_value(v);
	len = json_string_length(v);
	memset(ss, 0, sizeof(*ss));
	if (len < textlen) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			memcpy(text, s, len + 1);
			return AF_INET;
		}
		if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			memcpy(text, s, len + 1);
			return AF_INET6;
		}
	}
	shown(show, sizeof(show), s, len);
	return fail(err, errlen, name,
		    "key '%s': '%s' is not an IPv4 or IPv6 address (names are not resolved)",
		    key, show);
}

/* Names what makes an address unfit to send from, or NULL for a unicast
 * address: the unspecified address, a multicast address or the IPv4
 * broadcast address (also as an IPv4-mapped IPv6 address). */
static const char *not_unicast(const struct sockaddr_storage *ss)
{
	const struct in6_addr *a6;
	uint32_t a4;

	if (ss->ss_family == AF_INET) {
		a4 = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
	} else {
		a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(a6))
			return "the unspecified address";
		if (IN6_IS_ADDR_MULTICAST(a6))
			return "a multicast address";
		if (!IN6_IS_ADDR_V4MAPPED(a6))
			return NULL;
		memcpy(&a4, &a6->s6_addr[12], sizeof(a4));
		a4 = ntohl(a4);
	}
	if (a4 == INADDR_ANY)
		return "the unspecified address";
	if (a4 == INADDR_BROADCAST)
		return "the broadcast address";
	if ((a4 & 0xf0000000u) == 0xe0000000u)
		return "a multicast address";
	return NULL;
}

/* Reads a source address: like get_addr, and it must be a unicast address
 * (one a host can have and send from). */
static int get_source(const json_t *v, const char *key, char *text,
		      size_t textlen, struct sockaddr_storage *ss,
		      const char *name, char *err, size_t errlen)
{
	int fam = get_addr(v, key, text, textlen, ss, name, err, errlen);
	const char *why;

	if (fam < 0)
		return -1;
	why = not_unicast(ss);
	if (why != NULL)
		return fail(err, errlen, name,
			    "key '%s': %s is %s; must be a unicast address of this host",
			    key, text, why);
	return fam;
}

/* Reads the port: an integer, or in the args form also a decimal string. */
static int get_port(const json_t *v, const char *key, bool string_ok,
		    uint16_t *out, const char *name, char *err, size_t errlen)
{
	json_int_t x = 0;

	if (string_ok && json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), i;
		long n = 0;
		char show[SHOWN_MAX];

		for (i = 0; i < len && len <= 5; i++) {
			if (s[i] < '0' || s[i] > '9')
				break;
			n = n * 10 + (s[i] - '0');
		}
		if (len == 0 || len > 5 || i < len || n < 1 || n > 65535) {
			shown(show, sizeof(show), s, len);
			return fail(err, errlen, name,
				    "key '%s': port must be an integer 1..65535, not '%s'",
				    key, show);
		}
		*out = (uint16_t)n;
		return 0;
	}
	if (get_int(v, key, 1, 65535, "an integer 1..65535", &x, name, err,
		    errlen) < 0)
		return -1;
	*out = (uint16_t)x;
	return 0;
}

/* Reads one syslog.* string that must name an entry of table t. */
static int get_syslog_name(const json_t *v, const char *key,
			   const struct name_value *t, size_t n, int *out,
			   const char *name, char *err, size_t errlen)
{
	char names[256];
	int x = -1;

	list_names(names, sizeof(names), t, n);
	if (json_is_string(v))
		x = lookup_value(t, n, json_string_value(v));
	if (x >= 0) {
		*out = x;
		return 0;
	}
	if (json_is_string(v)) {
		char show[SHOWN_MAX];

		shown(show, sizeof(show), json_string_value(v),
		      json_string_length(v));
		return fail(err, errlen, name,
			    "key '%s': unknown name '%s'; must be one of %s",
			    key, show, names);
	}
	return fail(err, errlen, name, "key '%s': must be a string (one of %s), not %s",
		    key, names, type_name(v));
}

/* Applies the "syslog" object. */
static int parse_syslog(const json_t *obj, struct config *c, const char *name,
			char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, errlen, name,
			    "key 'syslog': must be an object, not %s",
			    type_name(obj));
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "enabled") == 0) {
			if (get_bool(v, "syslog.enabled", &c->syslog_enabled,
				     name, err, errlen) < 0)
				return -1;
		} else if (strcmp(key, "facility") == 0) {
			if (get_syslog_name(v, "syslog.facility", facilities,
					    COUNT(facilities),
					    &c->syslog_facility, name, err,
					    errlen) < 0)
				return -1;
		} else if (strcmp(key, "priority") == 0) {
			if (get_syslog_name(v, "syslog.priority", priorities,
					    COUNT(priorities),
					    &c->syslog_priority, name, err,
					    errlen) < 0)
				return -1;
		} else if (strcmp(key, "ident") == 0) {
			size_t len;

			if (!json_is_string(v))
				return fail(err, errlen, name,
					    "key 'syslog.ident': must be a string of 1..%d characters, not %s",
					    CONFIG_IDENT_MAX - 1, type_name(v));
			len = json_string_length(v);
			if (len < 1 || len >= CONFIG_IDENT_MAX)
				return fail(err, errlen, name,
					    "key 'syslog.ident': must be a string of 1..%d characters, not %zu",
					    CONFIG_IDENT_MAX - 1, len);
			memcpy(c->syslog_ident, json_string_value(v), len + 1);
		} else if (strcmp(key, "socket") == 0) {
			if (get_path(v, "syslog.socket", c->syslog_socket,
				     sizeof(c->syslog_socket), name, err,
				     errlen) < 0)
				return -1;
		} else if (strcmp(key, "backlog") == 0) {
			json_int_t x;

			if (get_int(v, "syslog.backlog", 1,
				    CONFIG_SYSLOG_BACKLOG_MAX,
				    "an integer 1..10000000 (record lines)", &x,
				    name, err, errlen) < 0)
				return -1;
			c->syslog_backlog = (uint32_t)x;
		} else {
			return fail_unknown(err, errlen, name, NULL, "syslog.",
					    key, syslog_keys,
					    COUNT(syslog_keys));
		}
	}
	return 0;
}

/* Applies the "args" form: [source, collector, port]. */
static int parse_args(const json_t *v, struct config *c, int *fam_src,
		      int *fam_col, const char *name, char *err,
		      size_t errlen)
{
	if (!json_is_array(v) || json_array_size(v) != 3)
		return fail(err, errlen, name,
			    "key 'args': must be an array [source, collector, port], not %s",
			    json_is_array(v) ? "an array of a different length"
					     : type_name(v));
	*fam_src = get_source(json_array_get(v, 0), "args", c->source_str,
			    sizeof(c->source_str), &c->source, name, err,
			    errlen);
	if (*fam_src < 0)
		return -1;
	*fam_col = get_addr(json_array_get(v, 1), "args", c->collector_str,
			    sizeof(c->collector_str), &c->collector, name,
			    err, errlen);
	if (*fam_col < 0)
		return -1;
	return get_port(json_array_get(v, 2), "args", true, &c->port, name,
			err, errlen);
}

/* What the top-level keys said about collectors, for the rules that span
 * several keys. */
struct top_state {
	int fam_src;			/* family of source, -1 when absent */
	int fam_col;			/* family of collector, -1 when absent */
	const json_t *collectors;	/* the `collectors` array, or NULL */
};

/* Validates one top-level key and stores its value in c. */
static int parse_key(const char *key, const json_t *v, struct config *c,
		     struct top_state *st, const char *name, char *err,
		     size_t errlen)
{
	json_int_t x = 0;

	if (strcmp(key, "source") == 0) {
		st->fam_src = get_source(v, key, c->source_str,
				       sizeof(c->source_str), &c->source, name,
				       err, errlen);
		return st->fam_src < 0 ? -1 : 0;
	}
	if (strcmp(key, "collector") == 0) {
		st->fam_col = get_addr(v, key, c->collector_str,
				       sizeof(c->collector_str), &c->collector,
				       name, err, errlen);
		return st->fam_col < 0 ? -1 : 0;
	}
	if (strcmp(key, "port") == 0)
		return get_port(v, key, false, &c->port, name, err, errlen);
	if (strcmp(key, "args") == 0)
		return parse_args(v, c, &st->fam_src, &st->fam_col, name, err,
				  errlen);
	if (strcmp(key, "collectors") == 0) {
		/* The entries are read after every other key, since they
		 * default to the top-level source wherever it stands. */
		if (!json_is_array(v))
			return fail(err, errlen, name,
				    "key 'collectors': must be an array of objects {\"address\": ..., \"port\": ...}, not %s",
				    type_name(v));
		st->collectors = v;
		return 0;
	}
	if (strcmp(key, "active_timeout") == 0) {
		if (get_int(v, key, 0, ACTIVE_TIMEOUT_MAX,
			    "an integer 0..2000000 (seconds, 0 = off)", &x,
			    name, err, errlen) < 0)
			return -1;
		c->active_timeout = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "template_refresh_packets") == 0) {
		if (get_int(v, key, 0, TEMPLATE_PACKETS_MAX,
			    "an integer 0..1000000 (datagrams, 0 = off)", &x,
			    name, err, errlen) < 0)
			return -1;
		c->template_refresh_packets = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "template_refresh_seconds") == 0) {
		if (get_int(v, key, 0, TEMPLATE_SECONDS_MAX,
			    "an integer 0..86400 (seconds, 0 = off)", &x,
			    name, err, errlen) < 0)
			return -1;
		c->template_refresh_seconds = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "interfaces") == 0)
		return get_bool(v, key, &c->interfaces, name, err, errlen);
	if (strcmp(key, "ttl") == 0) {
		if (get_int(v, key, 1, TTL_MAX,
			    "an integer 1..315360000 (seconds, up to 10 years)", &x,
			    name, err, errlen) < 0)
			return -1;
		c->ttl = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "flush_interval") == 0) {
		double d;

		if (!json_is_number(v))
			return fail(err, errlen, name,
				    "key 'flush_interval': must be a number of seconds > 0 and <= 3600, not %s",
				    type_name(v));
		d = json_number_value(v);
		if (!(d > 0.0 && d <= FLUSH_INTERVAL_MAX))
			return fail(err, errlen, name,
				    "key 'flush_interval': must be a number of seconds > 0 and <= 3600, not %g",
				    d);
		c->flush_interval = d;
		return 0;
	}
	if (strcmp(key, "engine_type") == 0 || strcmp(key, "engine_id") == 0) {
		if (get_int(v, key, 0, 255, "an integer 0..255", &x, name, err,
			    errlen) < 0)
			return -1;
		if (strcmp(key, "engine_type") == 0)
			c->engine_type = (uint8_t)x;
		else
			c->engine_id = (uint8_t)x;
		return 0;
	}
	if (strcmp(key, "untranslated_records") == 0)
		return get_bool(v, key, &c->untranslated_records, name, err,
				errlen);
	if (strcmp(key, "syslog") == 0)
		return parse_syslog(v, c, name, err, errlen);
	if (strcmp(key, "stdout") == 0)
		return get_bool(v, key, &c->to_stdout, name, err, errlen);
	if (strcmp(key, "pidfile") == 0)
		return get_path(v, key, c->pidfile, sizeof(c->pidfile), name,
				err, errlen);
	if (strcmp(key, "control_socket") == 0)
		return get_path(v, key, c->control_socket,
				sizeof(c->control_socket), name, err, errlen);
	if (strcmp(key, "kernel_setup") == 0)
		return get_bool(v, key, &c->kernel_setup, name, err, errlen);
	if (strcmp(key, "netlink_reliable") == 0)
		return get_bool(v, key, &c->netlink_reliable, name, err, errlen);
	if (strcmp(key, "netlink_buffer") == 0) {
		if (!json_is_integer(v) ||
		    (json_integer_value(v) != 0 &&
		     (json_integer_value(v) < NETLINK_BUFFER_MIN ||
		      json_integer_value(v) > NETLINK_BUFFER_MAX)))
			return fail(err, errlen, name,
				    "key 'netlink_buffer': must be 0 (kernel default) or an integer %u..%u bytes",
				    NETLINK_BUFFER_MIN, NETLINK_BUFFER_MAX);
		c->netlink_buffer = (uint32_t)json_integer_value(v);
		return 0;
	}
	if (strcmp(key, "state_file") == 0)
		return get_optional_path(v, key, "state file", c->state_file,
					 sizeof(c->state_file), name, err, errlen);
	if (strcmp(key, "metrics_file") == 0)
		return get_optional_path(v, key, "metrics file", c->metrics_file,
					 sizeof(c->metrics_file), name, err, errlen);
	if (strcmp(key, "checkpoint_interval") == 0) {
		if (get_int(v, key, 0, CHECKPOINT_INTERVAL_MAX,
			    "an integer 0..86400 (seconds, 0 = only at stop)",
			    &x, name, err, errlen) < 0)
			return -1;
		c->checkpoint_interval = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "active_when_address") == 0) {
		if (json_is_string(v) && json_string_length(v) == 0) {
			c->active_when_address[0] = '\0';	/* always active */
			return 0;
		}
		return get_addr(v, key, c->active_when_address,
				sizeof(c->active_when_address), &c->active_addr,
				name, err, errlen) < 0 ? -1 : 0;
	}
	if (strcmp(key, "handover_delay") == 0) {
		if (get_int(v, key, 0, HANDOVER_DELAY_MAX,
			    "an integer 0..60 (seconds)", &x, name, err,
			    errlen) < 0)
			return -1;
		c->handover_delay = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "observation_domain") == 0) {
		if (get_int(v, key, 1, UINT32_MAX,
			    "an integer 1..4294967295 (0 is reserved by RFC 7011)",
			    &x, name, err, errlen) < 0)
			return -1;
		c->observation_domain = (uint32_t)x;
		return 0;
	}
	if (strcmp(key, "resync_interval") == 0) {
		if (get_int(v, key, 1, RESYNC_INTERVAL_MAX,
			    "an integer 1..3600 (seconds)", &x, name, err,
			    errlen) < 0)
			return -1;
		c->resync_interval = (uint32_t)x;
		return 0;
	}
	return fail_unknown(err, errlen, name, NULL, "", key, top_keys,
			    COUNT(top_keys));
}

/* Names an address family for messages. */
static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* Sets the address length and puts the port into the collector address. */
static void finish_collector(struct config_collector *cc)
{
	if (cc->collector.ss_family == AF_INET) {
		cc->addrlen = sizeof(struct sockaddr_in);
		((struct sockaddr_in *)&cc->collector)->sin_port =
			htons(cc->port);
	} else {
		cc->addrlen = sizeof(struct sockaddr_in6);
		((struct sockaddr_in6 *)&cc->collector)->sin6_port =
			htons(cc->port);
	}
}

/* Tells whether two collectors are the same address and port. */
static bool same_destination(const struct config_collector *a,
			     const struct config_collector *b)
{
	if (a->collector.ss_family != b->collector.ss_family ||
	    a->port != b->port)
		return false;
	if (a->collector.ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->collector)->sin_addr,
			      &((const struct sockaddr_in *)&b->collector)->sin_addr,
			      sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)&a->collector)->sin6_addr,
		      &((const struct sockaddr_in6 *)&b->collector)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

/* Tells whether key is one of the n names in known. */
static bool is_known(const char *key, const char *const *known, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(key, known[i]) == 0)
			return true;
	return false;
}

/* Reads a collector's `nat_events` and `flows` (after its version). */
static int parse_nat(const json_t *nat, const json_t *flows, const char *owner,
		     struct config_collector *cc, const char *name, char *err,
		     size_t errlen)
{
	char key[KEY_MAX];
	size_t i;

	cc->nat_events = 0;
	cc->flows = true;
	if (nat != NULL) {
		for (i = 0; i < COUNT(nat_modes); i++)
			if (json_is_string(nat) &&
			    strcmp(json_string_value(nat), nat_modes[i]) == 0)
				break;
		if (i == COUNT(nat_modes))
			return fail(err, errlen, name,
				    "key '%s.nat_events': must be \"off\", \"rfc8158\" or \"legacy\"",
				    owner);
		cc->nat_events = (uint8_t)i;
	}
	if (flows != NULL) {
		snprintf(key, sizeof(key), "%s.flows", owner);
		if (get_bool(flows, key, &cc->flows, name, err, errlen) < 0)
			return -1;
	}
	if (cc->nat_events != 0 && cc->version == 5)
		return fail(err, errlen, name,
			    "key '%s.nat_events': NetFlow v5 cannot carry NAT events; use version 9 or 10 (IPFIX)",
			    owner);
	if (!cc->flows && cc->nat_events == 0)
		return fail(err, errlen, name,
			    "key '%s.flows': false with nat_events off leaves nothing to send",
			    owner);
	return 0;
}

/* Reads entry i of `collectors` into cc; an entry without a source takes
 * the top-level one from c when fam_top is a family (else it is an error). */
static int parse_entry(const json_t *e, size_t i, const struct config *c,
		       int fam_top, struct config_collector *cc,
		       const char *name, char *err, size_t errlen)
{
	char owner[40], key[KEY_MAX];
	const json_t *addr, *port, *src, *ver, *nat, *flows;
	const char *k;
	json_t *v;
	int fam_col, fam_src;

	snprintf(owner, sizeof(owner), "collectors[%zu]", i);
	if (!json_is_object(e))
		return fail(err, errlen, name,
			    "key '%s': must be an object {\"address\": ..., \"port\": ...}, not %s",
			    owner, type_name(e));
	json_object_foreach((json_t *)e, k, v) {
		if (!is_known(k, collector_keys, COUNT(collector_keys)))
			return fail_unknown(err, errlen, name, owner, "", k,
					    collector_keys,
					    COUNT(collector_keys));
	}
	addr = json_object_get(e, "address");
	port = json_object_get(e, "port");
	src = json_object_get(e, "source");
	ver = json_object_get(e, "version");
	nat = json_object_get(e, "nat_events");
	flows = json_object_get(e, "flows");
	if (addr == NULL || port == NULL)
		return fail(err, errlen, name,
			    "key '%s': missing required key '%s'", owner,
			    addr == NULL ? "address" : "port");
	memset(cc, 0, sizeof(*cc));
	snprintf(key, sizeof(key), "%s.address", owner);
	fam_col = get_addr(addr, key, cc->collector_str,
			   sizeof(cc->collector_str), &cc->collector, name,
			   err, errlen);
	if (fam_col < 0)
		return -1;
	snprintf(key, sizeof(key), "%s.port", owner);
	if (get_port(port, key, false, &cc->port, name, err, errlen) < 0)
		return -1;
	if (src != NULL) {
		snprintf(key, sizeof(key), "%s.source", owner);
		fam_src = get_source(src, key, cc->source_str,
				   sizeof(cc->source_str), &cc->source, name,
				   err, errlen);
		if (fam_src < 0)
			return -1;
	} else if (fam_top >= 0) {
		memcpy(cc->source_str, c->source_str, sizeof(cc->source_str));
		cc->source = c->source;
		fam_src = fam_top;
	} else {
		return fail(err, errlen, name,
			    "key '%s': missing required key 'source' (there is no top-level 'source' to default to)",
			    owner);
	}
	cc->version = 5;
	if (ver != NULL) {
		json_int_t x = json_is_integer(ver) ? json_integer_value(ver)
						    : 0;

		if (!json_is_integer(ver))
			return fail(err, errlen, name,
				    "key '%s.version': must be 5, 9 or 10 (IPFIX), not %s",
				    owner, type_name(ver));
		if (x != 5 && x != 9 && x != 10)
			return fail(err, errlen, name,
				    "key '%s.version': must be 5, 9 or 10 (IPFIX), not %" JSON_INTEGER_FORMAT,
				    owner, x);
		cc->version = (uint8_t)x;
	}
	if (parse_nat(nat, flows, owner, cc, name, err, errlen) < 0)
		return -1;
	if (fam_src != fam_col)
		return fail(err, errlen, name,
			    "key '%s.address': %s is %s but source %s is %s; both must be of the same family",
			    owner, cc->collector_str, family_name(fam_col),
			    cc->source_str, family_name(fam_src));
	finish_collector(cc);
	return 0;
}

/* Reads the entries of `collectors` after the n collectors already in c,
 * refusing a destination that is already there. */
static int parse_entries(const json_t *arr, struct config *c, unsigned n,
			 bool has_top, int fam_top, const char *name,
			 char *err, size_t errlen)
{
	size_t i, total = n + json_array_size(arr);
	unsigned j;

	if (total > CONFIG_MAX_COLLECTORS)
		return fail(err, errlen, name,
			    "key 'collectors': %zu collectors in all%s, at most %d allowed",
			    total,
			    has_top ? " (with the top-level 'collector')" : "",
			    CONFIG_MAX_COLLECTORS);
	for (i = 0; i < json_array_size(arr); i++, n++) {
		struct config_collector *cc = &c->collectors[n];

		if (parse_entry(json_array_get(arr, i), i, c, fam_top, cc,
				name, err, errlen) < 0)
			return -1;
		for (j = 0; j < n; j++) {
			char other[KEY_MAX];

			if (!same_destination(&c->collectors[j], cc))
				continue;
			if (has_top && j == 0)
				snprintf(other, sizeof(other),
					 "the top-level 'collector'");
			else
				snprintf(other, sizeof(other),
					 "collectors[%u]", j - (has_top ? 1 : 0));
			return fail(err, errlen, name,
				    "key 'collectors[%zu]': %s port %u is already a collector (%s)",
				    i, cc->collector_str, (unsigned)cc->port,
				    other);
		}
	}
	c->ncollectors = n;
	return 0;
}

/* Checks the whole object: every key, then the rules between keys. */
static int parse_object(const json_t *root, struct config *c,
			const char *name, char *err, size_t errlen)
{
	static const char *const required[] = { "source", "collector", "port" };
	struct top_state st = { -1, -1, NULL };
	bool has_args = json_object_get(root, "args") != NULL;
	bool has_top = has_args || json_object_get(root, "collector") != NULL ||
		       json_object_get(root, "port") != NULL;
	struct config_collector *first = &c->collectors[0];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)root, key, v) {
		if (has_args && (strcmp(key, "source") == 0 ||
				 strcmp(key, "collector") == 0 ||
				 strcmp(key, "port") == 0))
			return fail(err, errlen, name,
				    "key '%s': cannot be combined with 'args' (use either 'args' or source/collector/port)",
				    key);
		if (parse_key(key, v, c, &st, name, err, errlen) < 0)
			return -1;
	}
	if (c->template_refresh_packets == 0 &&
	    c->template_refresh_seconds == 0)
		return fail(err, errlen, name,
			    "keys 'template_refresh_packets' and 'template_refresh_seconds': cannot both be 0 (a v9 or IPFIX collector started later could never decode the records)");
	if (!has_top &&
	    (st.collectors == NULL || json_array_size(st.collectors) == 0))
		return fail(err, errlen, name,
			    "no collector: give 'source', 'collector' and 'port', or a non-empty 'collectors' array");
	c->ncollectors = 0;
	if (has_top) {
		if (!has_args) {
			for (i = 0; i < COUNT(required); i++)
				if (json_object_get(root, required[i]) == NULL)
					return fail(err, errlen, name,
						    "missing required key '%s'",
						    required[i]);
		}
		if (st.fam_src != st.fam_col)
			return fail(err, errlen, name,
				    "key 'collector': %s is %s but source %s is %s; both must be of the same family",
				    c->collector_str,
				    family_name(st.fam_col), c->source_str,
				    family_name(st.fam_src));
		memset(first, 0, sizeof(*first));
		memcpy(first->source_str, c->source_str,
		       sizeof(first->source_str));
		memcpy(first->collector_str, c->collector_str,
		       sizeof(first->collector_str));
		first->source = c->source;
		first->collector = c->collector;
		first->port = c->port;
		first->version = 5;
		first->flows = true;
		finish_collector(first);
		c->ncollectors = 1;
	}
	if (st.collectors != NULL &&
	    parse_entries(st.collectors, c, c->ncollectors, has_top,
			  st.fam_src, name, err, errlen) < 0)
		return -1;
	/* The v5-only names always describe collectors[0]. */
	memcpy(c->source_str, first->source_str, sizeof(c->source_str));
	memcpy(c->collector_str, first->collector_str,
	       sizeof(c->collector_str));
	c->source = first->source;
	c->collector = first->collector;
	c->addrlen = first->addrlen;
	c->port = first->port;
	return 0;
}

/* Tells whether a byte is JSON/config-file white space. */
static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	       ch == '\f' || ch == '\v';
}

/* Finds the extent of the next line at *pos; advances *pos past it. */
static bool next_line(const char *buf, size_t len, size_t *pos,
		      const char **line, size_t *linelen)
{
	size_t start = *pos, end;

	if (start >= len)
		return false;
	end = start;
	while (end < len && buf[end] != '\n')
		end++;
	*line = buf + start;
	*linelen = end - start;
	*pos = end < len ? end + 1 : end;
	return true;
}

/* Trims white space at both ends of a line in place (by pointer). */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

/* Splits "key value" or "key = value" into its parts; false if the line
 * does not look like one. */
static bool split_key_value(const char *s, size_t len, const char **key,
			    size_t *keylen, const char **val, size_t *vallen)
{
	size_t i = 0;

	if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			  (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
			   (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			   s[i] == '-' || s[i] == '.'))
		i++;
	*key = s;
	*keylen = i;
	if (i == len || !(is_blank(s[i]) || s[i] == '='))
		return false;
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && s[i] == '=')
		i++;
	while (i < len && is_blank(s[i]))
		i++;
	if (i == len)
		return false;
	*val = s + i;
	*vallen = len - i;
	return true;
}

/* Turns one legacy value into JSON: a decimal number, a boolean word, or a
 * string. Returns NULL if the text is not valid UTF-8. */
static json_t *legacy_value(const char *s, size_t len)
{
	static const char *const yes[] = { "yes", "on", "true" };
	static const char *const no[] = { "no", "off", "false" };
	json_int_t n;
	size_t i;

	if (len >= 2 && ((s[0] == '"' && s[len - 1] == '"') ||
			 (s[0] == '\'' && s[len - 1] == '\''))) {
		s++;
		len -= 2;
	}
	/* The text is not NUL-terminated, so digits are summed by hand. */
	for (i = 0, n = 0; i < len && len <= 9; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		n = n * 10 + (s[i] - '0');
	}
	if (len > 0 && len <= 9 && i == len)
		return json_integer(n);
	for (i = 0; i < COUNT(yes); i++) {
		if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0)
			return json_true();
		if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0)
			return json_false();
	}
	return json_stringn(s, len);
}

/* Converts the legacy "args a b c" value into source/collector/port. */
static int legacy_args(json_t *out, const char *s, size_t len)
{
	static const char *const names[] = { "source", "collector", "port" };
	const char *tok[4];
	size_t toklen[4];
	size_t n = 0, i = 0;

	while (i < len && n < 4) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i == len)
			break;
		tok[n] = s + i;
		while (i < len && !is_blank(s[i]))
			i++;
		toklen[n] = (size_t)(s + i - tok[n]);
		n++;
	}
	if (n != 3) {
		json_t *v = legacy_value(s, len);

		return v ? json_object_set_new(out, "args", v) : -1;
	}
	for (i = 0; i < 3; i++) {
		json_t *v = i < 2 ? json_stringn(tok[i], toklen[i])
				  : legacy_value(tok[i], toklen[i]);

		if (v == NULL || json_object_set_new(out, names[i], v) < 0)
			return -1;
	}
	return 0;
}

/* Recognises the original tool's Config::General text ("args a b c", or
 * "key value" lines) and writes the error showing the JSON equivalent.
 * Returns 0 if the bytes do not look like that format. */
static int legacy_format(const char *buf, size_t len, const char *name,
			 char *err, size_t errlen)
{
	const char *line, *key, *val;
	size_t linelen, keylen, vallen, pos = 0;
	bool first = true, saw_args = false;
	json_t *out;
	char *text;

	if (memchr(buf, '\0', len) != NULL)
		return 0;
	out = json_object();
	if (out == NULL)
		return 0;
	while (next_line(buf, len, &pos, &line, &linelen)) {
		char keybuf[64];

		trim(&line, &linelen);
		if (linelen == 0 || line[0] == '#')
			continue;
		if (!split_key_value(line, linelen, &key, &keylen, &val,
				     &vallen)) {
			if (first)
				break;
			continue;	/* blocks and the like: not shown */
		}
		first = false;
		if (keylen >= sizeof(keybuf))
			continue;
		memcpy(keybuf, key, keylen);
		keybuf[keylen] = '\0';
		if (strcmp(keybuf, "args") == 0) {
			saw_args = true;
			if (legacy_args(out, val, vallen) < 0)
				goto generic;
		} else {
			json_t *v = legacy_value(val, vallen);

			if (v == NULL || json_object_set_new(out, keybuf, v) < 0)
				goto generic;
		}
	}
	if (first) {
		json_decref(out);
		return 0;
	}
	text = json_dumps(out, JSON_INDENT(0) | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (text == NULL)
		goto generic_freed;
	fail(err, errlen, name,
	     "this is the old '%s' format; write it as JSON: %s",
	     saw_args ? "args a b c" : "key value", text);
	free(text);
	return -1;
generic:
	json_decref(out);
generic_freed:
	return fail(err, errlen, name,
		    "this is the old 'args a b c' format; write it as JSON: {\"source\": \"ADDRESS\", \"collector\": \"ADDRESS\", \"port\": PORT}");
}

/* Reports a jansson syntax error with its position on one clean line. */
static int fail_syntax(const json_error_t *je, const char *name, char *err,
		       size_t errlen)
{
	char text[sizeof(je->text)];
	size_t i;

	for (i = 0; i + 1 < sizeof(text) && je->text[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)je->text[i];

		text[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	text[i] = '\0';
	return fail(err, errlen, name, "line %d, column %d: %s", je->line,
		    je->column, text);
}

/* Fills cfg with every default of SPEC §2. */
void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ttl = TTL_DEFAULT;
	cfg->flush_interval = 1.0;
	cfg->engine_type = 0;
	cfg->engine_id = 0;
	cfg->untranslated_records = false;
	cfg->syslog_enabled = true;
	cfg->syslog_facility = LOG_LOCAL6;
	cfg->syslog_priority = LOG_INFO;
	snprintf(cfg->syslog_ident, sizeof(cfg->syslog_ident), "nfflowd");
	snprintf(cfg->syslog_socket, sizeof(cfg->syslog_socket), "%s",
		 CONFIG_DEFAULT_SYSLOG_SOCKET);
	cfg->syslog_backlog = CONFIG_DEFAULT_SYSLOG_BACKLOG;
	cfg->to_stdout = false;
	snprintf(cfg->pidfile, sizeof(cfg->pidfile), "%s",
		 CONFIG_DEFAULT_PIDFILE);
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
		 CONFIG_DEFAULT_SOCKET);
	cfg->kernel_setup = true;
	cfg->netlink_buffer = CONFIG_DEFAULT_NETLINK_BUFFER;
	cfg->netlink_reliable = true;
	cfg->ncollectors = 0;
	cfg->active_timeout = CONFIG_DEFAULT_ACTIVE_TIMEOUT;
	cfg->template_refresh_packets = CONFIG_DEFAULT_TEMPLATE_PACKETS;
	cfg->template_refresh_seconds = CONFIG_DEFAULT_TEMPLATE_SECONDS;
	cfg->interfaces = false;
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s",
		 CONFIG_DEFAULT_STATE_FILE);
	cfg->checkpoint_interval = CONFIG_DEFAULT_CHECKPOINT_INTERVAL;
	cfg->resync_interval = CONFIG_DEFAULT_RESYNC_INTERVAL;
	cfg->handover_delay = CONFIG_DEFAULT_HANDOVER_DELAY;
}

/* Parses and validates a whole file's bytes; cfg is untouched on error. */
int config_parse(const char *buf, size_t len, const char *name,
		 struct config *cfg, char *err, size_t errlen)
{
	struct config c;
	json_error_t je;
	json_t *root;
	size_t i;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	for (i = 0; i < len && is_blank(buf[i]); i++)
		;
	if (i == len)
		return fail(err, errlen, name,
			    "file is empty; it needs at least {\"source\": ..., \"collector\": ..., \"port\": ...}");
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &je);
	if (root == NULL) {
		if (legacy_format(buf, len, name, err, errlen) < 0)
			return -1;
		return fail_syntax(&je, name, err, errlen);
	}
	if (!json_is_object(root)) {
		rc = fail(err, errlen, name,
			  "the top level must be a JSON object {...}, not %s",
			  type_name(root));
		json_decref(root);
		return rc;
	}
	config_defaults(&c);
	rc = parse_object(root, &c, name, err, errlen);
	json_decref(root);
	if (rc == 0)
		*cfg = c;
	return rc;
}

/* Reads a whole file of at most CONFIG_FILE_MAX bytes into a fresh buffer;
 * on failure returns NULL with errno set (EFBIG when too large). */
static char *read_file(const char *path, size_t *lenp)
{
	char *buf;
	size_t len = 0;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* Reads the file at path and parses it. */
int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen)
{
	size_t len = 0;
	char *buf = read_file(path, &len);
	int rc;

	if (buf == NULL) {
		if (errno == EFBIG)
			return fail(err, errlen, path,
				    "file is larger than %d bytes (1 MiB)",
				    CONFIG_FILE_MAX);
		return fail(err, errlen, path, "%s", strerror(errno));
	}
	rc = config_parse(buf, len, path, cfg, err, errlen);
	free(buf);
	return rc;
}

/* Copies one path key for config_load_paths; false when present but unusable. */
static bool lenient_path(const json_t *root, const char *key, char *out,
			 size_t outlen)
{
	const json_t *v = json_object_get(root, key);
	const char *s;
	size_t len;

	if (v == NULL)
		return true;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || s[0] != '/' || len >= outlen)
		return false;
	memcpy(out, s, len + 1);
	return true;
}

/* Reads only pidfile and control_socket, keeping defaults on any trouble. */
int config_load_paths(const char *path, struct config *cfg)
{
	json_error_t je;
	json_t *root;
	size_t len = 0;
	char *buf;
	bool ok;

	snprintf(cfg->pidfile, sizeof(cfg->pidfile), "%s",
		 CONFIG_DEFAULT_PIDFILE);
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
		 CONFIG_DEFAULT_SOCKET);
	buf = read_file(path, &len);
	if (buf == NULL)
		return -1;
	root = json_loadb(buf, len, JSON_DECODE_ANY, &je);
	free(buf);
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	/* A key that is present but unusable keeps its default and makes the
	 * result -1, so that the caller says it fell back. */
	ok = lenient_path(root, "pidfile", cfg->pidfile, sizeof(cfg->pidfile));
	ok = lenient_path(root, "control_socket", cfg->control_socket,
			  sizeof(cfg->control_socket)) && ok;
	json_decref(root);
	return ok ? 0 : -1;
}

/* Names a syslog facility value. */
const char *config_facility_name(int facility)
{
	return lookup_name(facilities, COUNT(facilities), facility);
}

/* Names a syslog priority value. */
const char *config_priority_name(int priority)
{
	return lookup_name(priorities, COUNT(priorities), priority);
}

const char *config_version_name(uint8_t version)
{
	return version == 5 ? "NetFlow v5" : version == 9 ? "NetFlow v9" : "IPFIX";
}

const char *config_collector_desc(const struct config_collector *cc,
				  char *buf, size_t len)
{
	if (cc->nat_events == 0)
		snprintf(buf, len, "%s", config_version_name(cc->version));
	else
		snprintf(buf, len, "%s, NAT events (%s numbering)%s",
			 config_version_name(cc->version),
			 nat_modes[cc->nat_events < COUNT(nat_modes) ?
				   cc->nat_events : 0],
			 cc->flows ? "" : " only, no traffic records");
	return buf;
}
