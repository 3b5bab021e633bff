/* `nfflowd --dump-state [--json]`: the client of the control socket. It
 * sends one request line and turns the JSON lines of the reply (schema in
 * statejson.c) into a readable report or one JSON document, line by line,
 * never holding the whole table. */
#include "nfflowd/dumpstate.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "nfflowd/config.h"

/* Far above any statejson line: the counters line with every number at
 * its longest and a reload_error of 511 escaped control characters is
 * about 4300 bytes. */
#define REPLY_LINE_MAX 8192
#define RECV_TIMEOUT_S 10	/* a daemon that stops answering */

/* Buffered reading of reply lines from the socket. */
struct reader {
	int fd;
	size_t start, end;
	char buf[16384];
};

enum read_result {
	READ_LINE,
	READ_EOF,		/* clean end, nothing pending */
	READ_ERROR,		/* errno set, or a line too long (EMSGSIZE) */
};

/* Connects to the control socket at path; -1 with errno on failure. */
static int connect_to(const char *path)
{
	struct timeval tv = { RECV_TIMEOUT_S, 0 };
	struct sockaddr_un sa;
	int fd, saved;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Sends the whole request line; -1 with errno on failure. */
static int send_request(int fd, const char *req)
{
	size_t len = strlen(req), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Reads the next line into line (NUL-terminated, without its newline). */
static enum read_result read_line(struct reader *r, char *line, size_t max)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			size_t part = (size_t)(nl - (r->buf + r->start));

			if (len + part >= max)
				goto too_long;
			memcpy(line + len, r->buf + r->start, part);
			line[len + part] = '\0';
			r->start += part + 1;
			return READ_LINE;
		}
		/* No newline yet: keep what there is and read on. */
		if (len + (r->end - r->start) >= max)
			goto too_long;
		memcpy(line + len, r->buf + r->start, r->end - r->start);
		len += r->end - r->start;
		r->start = r->end = 0;
		n = recv(r->fd, r->buf, sizeof(r->buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return READ_ERROR;
		if (n == 0) {
			if (len == 0)
				return READ_EOF;
			errno = EPROTO;	/* a last line without newline */
			return READ_ERROR;
		}
		r->end = (size_t)n;
	}
too_long:
	errno = EMSGSIZE;
	return READ_ERROR;
}

/* An integer member of obj, 0 when absent or of another type. */
static uint64_t num(const json_t *obj, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(obj, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* A string member of obj, "?" when absent or of another type. */
static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "?";
}

/* Writes text to out with control characters shown as '?', so that a
 * message from the daemon cannot move the cursor or colour the terminal. */
void dumpstate_put_text(FILE *out, const char *text)
{
	for (; *text != '\0'; text++)
		fputc((unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text,
		      out);
}

/* Formats a number of seconds compactly: 42s, 3m12s, 3h02m, 2d03h. */
static void duration(char out[32], uint64_t s)
{
	if (s < 60)
		snprintf(out, 32, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(out, 32, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, 32, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(out, 32, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
}

/* Prints the counters as a labelled block. */
static void print_counters(FILE *out, const json_t *c)
{
	const json_t *ev = json_object_get(c, "events");
	const json_t *rl = json_object_get(c, "reloads");
	const json_t *sl = json_object_get(c, "syslog");
	char up[32];

	duration(up, num(c, "uptime"));
	fprintf(out, "nfflowd pid %" PRIu64 ", up %s\n", num(c, "pid"), up);
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
		"events new/destroy/ignored/malformed", num(ev, "new"),
		num(ev, "destroy"), num(ev, "ignored"), num(ev, "malformed"));
	fprintf(out, "%-38s %" PRIu64 "\n", "records exported",
		num(c, "records"));
	fprintf(out, "%-38s %" PRIu64 "\n", "records without counters",
		num(c, "records_no_counters"));
	fprintf(out, "%-38s %" PRIu64 "\n", "records lost (send failed)",
		num(c, "records_lost"));
	fprintf(out, "%-38s %" PRIu64 "\n", "datagrams sent",
		num(c, "datagrams"));
	fprintf(out, "%-38s %" PRIu64 "\n", "send errors",
		num(c, "send_errors"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n",
		"netlink overruns/resyncs", num(c, "overruns"),
		num(c, "resyncs"));
	fprintf(out, "%-38s %" PRIu64 "\n", "entries gone without DESTROY",
		num(c, "lost_entries"));
	fprintf(out, "%-38s %" PRIu64 "\n", "netlink events the kernel dropped",
		num(c, "netlink_drops"));
	fprintf(out, "%-38s %" PRIu64 "\n", "DESTROY events seen twice (ignored)",
		num(c, "destroy_duplicates"));
	fprintf(out, "%-38s %" PRIu64 "\n", "entries expired by TTL",
		num(c, "ttl_expired"));
	fprintf(out, "%-38s %" PRIu64 "\n", "entries past TTL, alive (kept)",
		num(c, "ttl_alive"));
	fprintf(out, "%-38s %" PRIu64 "\n", "live table size", num(c, "live"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n",
		"active timeout: readings/interim exports", num(c, "queries"),
		num(c, "interim"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n",
		"IPv6 connections exported/not on v5", num(c, "ipv6"),
		num(c, "skipped_ipv6"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
		"syslog lines sent/queued/dropped/errors", num(sl, "sent"),
		num(sl, "queued"), num(sl, "dropped"), num(sl, "errors"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n",
		"state file: restored/ended unseen", num(c, "state_restored"),
		num(c, "ended_unseen"));
	if (json_object_get(c, "role") != NULL)
		fprintf(out, "%-38s %s (changes %" PRIu64 ", handovers %" PRIu64
			", exports held back %" PRIu64 ", peer's copies while active %"
			PRIu64 ")\n", "role",
			str(c, "role"), num(c, "role_changes"),
			num(c, "handovers"), num(c, "standby_suppressed"),
			num(c, "peer_copies_active"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
		"NAT events create/late create/delete", num(c, "nat_creates"),
		num(c, "nat_creates_late"), num(c, "nat_deletes"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n",
		"state checkpoints written/failed", num(c, "checkpoints"),
		num(c, "checkpoint_errors"));
	fprintf(out, "%-38s %" PRIu64 "/%" PRIu64 "\n", "reloads ok/failed",
		num(rl, "ok"), num(rl, "failed"));
	if (json_string_length(json_object_get(c, "reload_error")) > 0) {
		fprintf(out, "%-38s ", "last reload failed because");
		dumpstate_put_text(out, str(c, "reload_error"));
		fputc('\n', out);
	}
	fprintf(out, "\n%-5s  %-47s  %-47s  %7s  %s\n", "PROTO",
		"ORIGINAL (pre-NAT)", "TRANSLATED (post-NAT, as it left)",
		"AGE", "STATE");
}

/* How an entry's tuple is written, by its protocol's kind. */
enum tuple_kind {
	TUPLE_PORTS,	/* TCP, UDP, UDP-Lite, SCTP, DCCP */
	TUPLE_ICMP,	/* ICMP, ICMPv6: type/code and id */
	TUPLE_KEYS,	/* GRE: the keys (PPTP call ids) in the port fields */
	TUPLE_BARE,	/* ESP, AH, any other: addresses only */
};

/* The tuple kind of a protocol as the state dump names it (statejson.c). */
static enum tuple_kind tuple_kind(const char *proto)
{
	static const char *const ported[] = {
		"tcp", "udp", "udplite", "sctp", "dccp",
	};
	size_t i;

	for (i = 0; i < sizeof(ported) / sizeof(ported[0]); i++)
		if (strcmp(proto, ported[i]) == 0)
			return TUPLE_PORTS;
	if (strcmp(proto, "icmp") == 0 || strcmp(proto, "icmpv6") == 0)
		return TUPLE_ICMP;
	return strcmp(proto, "gre") == 0 ? TUPLE_KEYS : TUPLE_BARE;
}

/* Writes "a:p -> b:q" (for ICMP "a -> b type/code id N", for GRE
 * "a -> b key K/L", without ports "a -> b") into out. When left is set
 * the tuple is the reply turned around: as the original direction left the
 * box after NAT (SPEC §3, record 2). A protocol without ports whose port
 * fields are not 0 anyway (conntrack sent some) shows them as ports,
 * rather than hiding a difference. */
static void tuple_text(char *out, size_t len, const json_t *t,
		       const json_t *orig, enum tuple_kind kind, bool left)
{
	const char *a = str(t, left ? "dst" : "src");
	const char *b = str(t, left ? "src" : "dst");
	uint64_t sp = num(t, left ? "dport" : "sport");
	uint64_t dp = num(t, left ? "sport" : "dport");

	if (kind == TUPLE_ICMP)
		snprintf(out, len, "%s -> %s %" PRIu64 "/%" PRIu64 " id %" PRIu64,
			 a, b, num(orig, "type"), num(orig, "code"),
			 num(t, "id"));
	else if (kind != TUPLE_PORTS && sp == 0 && dp == 0)
		snprintf(out, len, "%s -> %s", a, b);
	else if (kind == TUPLE_KEYS)
		snprintf(out, len, "%s -> %s key %" PRIu64 "/%" PRIu64, a, b,
			 sp, dp);
	else
		snprintf(out, len, "%s:%" PRIu64 " -> %s:%" PRIu64, a, sp, b,
			 dp);
}

/* Prints one table row for an entry line. */
static void print_entry(FILE *out, const json_t *e)
{
	const json_t *o = json_object_get(e, "orig");
	const json_t *r = json_object_get(e, "reply");
	const char *proto = str(e, "proto");
	const char *state = str(e, "state");
	enum tuple_kind kind = tuple_kind(proto);
	char pre[96], post[96], age[32];

	tuple_text(pre, sizeof(pre), o, o, kind, false);
	if (strcmp(str(e, "nat"), "none") == 0)
		snprintf(post, sizeof(post), "-");
	else
		tuple_text(post, sizeof(post), r, o, kind, true);
	duration(age, num(e, "age"));
	fprintf(out, "%-5s  %-47s  %-47s  %7s  %s\n", proto, pre, post, age,
		state[0] != '\0' ? state : "-");
}

/* Writes obj compactly to out without its "type" member. */
static void dump_object(FILE *out, json_t *obj)
{
	json_object_del(obj, "type");
	json_dumpf(obj, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Parses one reply line; an error line or a line that is not an object is
 * reported and yields NULL. */
static json_t *parse_line(const char *line, const char *path)
{
	json_error_t jerr;
	json_t *obj = json_loads(line, 0, &jerr);
	const char *msg;

	if (obj == NULL || !json_is_object(obj)) {
		fprintf(stderr, "nfflowd: unreadable reply from %s: %s\n", path,
			obj == NULL ? jerr.text : "not a JSON object");
		json_decref(obj);
		return NULL;
	}
	msg = json_string_value(json_object_get(obj, "error"));
	if (msg != NULL) {
		fprintf(stderr, "nfflowd: the daemon on %s refused: %s\n", path,
			msg);
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Reads the whole "state" reply and prints it; returns the exit status. */
static int render(struct reader *rd, const char *path, bool json, FILE *out)
{
	char line[REPLY_LINE_MAX];
	uint64_t count = 0;
	enum read_result rr;
	json_t *obj;
	const char *type;

	for (;;) {
		rr = read_line(rd, line, sizeof(line));
		if (rr != READ_LINE) {
			fprintf(stderr, "nfflowd: the state dump from %s ended "
				"early: %s\n", path, rr == READ_EOF ?
				"connection closed" : strerror(errno));
			return 1;
		}
		obj = parse_line(line, path);
		if (obj == NULL)
			return 1;
		type = str(obj, "type");
		if (strcmp(type, "counters") == 0) {
			if (json) {
				fputs("{\"counters\":", out);
				dump_object(out, obj);
				fputs(",\n\"entries\":[", out);
			} else {
				print_counters(out, obj);
			}
		} else if (strcmp(type, "entry") == 0) {
			if (json) {
				fputs(count == 0 ? "\n" : ",\n", out);
				dump_object(out, obj);
			} else {
				print_entry(out, obj);
			}
			count++;
		} else if (strcmp(type, "end") == 0) {
			if (num(obj, "entries") != count)
				fprintf(stderr, "nfflowd: the daemon announced "
					"%" PRIu64 " entries, %" PRIu64
					" arrived\n", num(obj, "entries"), count);
			json_decref(obj);
			break;
		}
		json_decref(obj);
	}
	if (json)
		fprintf(out, "\n],\n\"entries_count\":%" PRIu64 "}\n", count);
	else
		fprintf(out, "%" PRIu64 " live connection%s\n", count,
			count == 1 ? "" : "s");
	return fflush(out) == 0 ? 0 : 1;
}

/* The request could not be sent: a daemon that refused us (too many
 * clients) has closed already, but its error line is still there to read. */
static int send_failed(struct reader *rd, const char *path)
{
	int saved = errno;
	char line[REPLY_LINE_MAX];
	json_t *obj;

	if (read_line(rd, line, sizeof(line)) == READ_LINE) {
		obj = parse_line(line, path);
		if (obj == NULL)
			return 1;	/* reported */
		json_decref(obj);
	}
	fprintf(stderr, "nfflowd: sending to %s: %s\n", path, strerror(saved));
	return 1;
}

int dumpstate_run(const char *path, bool json, FILE *out)
{
	struct reader *rd;
	int fd, rc;

	fd = connect_to(path);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		fprintf(stderr, "nfflowd: cannot connect to %s: %s (the socket "
			"is mode 0600: run as its owner)\n", path,
			strerror(errno));
		return 1;
	}
	if (fd < 0) {
		fprintf(stderr, "nfflowd: no daemon answers on %s: %s; is it "
			"running?\n", path, strerror(errno));
		return 1;
	}
	rd = calloc(1, sizeof(*rd));
	if (rd == NULL) {
		fprintf(stderr, "nfflowd: out of memory\n");
		close(fd);
		return 1;
	}
	rd->fd = fd;
	if (send_request(fd, "state\n") < 0)
		rc = send_failed(rd, path);
	else
		rc = render(rd, path, json, out);
	free(rd);
	close(fd);
	return rc;
}

int dumpstate_metrics(const char *path, FILE *out)
{
	char buf[REPLY_LINE_MAX];
	struct reader *rd;
	enum read_result rr;
	unsigned lines = 0;
	int fd, rc = 1;

	fd = connect_to(path);
	if (fd < 0) {
		fprintf(stderr, "nfflowd: no daemon answers on %s: %s; is it running?\n",
			path, strerror(errno));
		return 1;
	}
	rd = calloc(1, sizeof(*rd));
	if (rd == NULL || send_request(fd, "metrics\n") < 0) {
		fprintf(stderr, "nfflowd: cannot ask %s for metrics: %s\n", path,
			rd == NULL ? "out of memory" : strerror(errno));
		goto out;
	}
	rd->fd = fd;
	while ((rr = read_line(rd, buf, sizeof(buf))) == READ_LINE) {
		if (lines == 0 && buf[0] == '{') {	/* {"error": ...} */
			fprintf(stderr, "nfflowd: %s answered: %s\n", path, buf);
			goto out;
		}
		fprintf(out, "%s\n", buf);
		lines++;
	}
	if (rr == READ_ERROR || lines == 0)
		fprintf(stderr, "nfflowd: no metrics from %s: %s\n", path,
			rr == READ_ERROR ? strerror(errno) : "empty reply");
	else
		rc = fflush(out) == 0 ? 0 : 1;
out:
	free(rd);
	close(fd);
	return rc;
}

int dumpstate_counters(const char *path, char **line)
{
	return dumpstate_request(path, "counters\n", line);
}

int dumpstate_request(const char *path, const char *req, char **line)
{
	char buf[REPLY_LINE_MAX];
	struct reader *rd;
	json_t *obj = NULL;
	int fd, rc = -1;

	enum read_result rr;
	int saved;

	*line = NULL;
	fd = connect_to(path);
	if (fd < 0)
		return -1;
	rd = calloc(1, sizeof(*rd));
	if (rd == NULL || send_request(fd, req) < 0)
		goto out;
	rd->fd = fd;
	rr = read_line(rd, buf, sizeof(buf));
	if (rr != READ_LINE) {
		if (rr == READ_EOF)
			errno = ECONNRESET;
		goto out;
	}
	obj = json_loads(buf, 0, NULL);
	if (obj == NULL || strcmp(str(obj, "type"), "counters") != 0) {
		errno = EPROTO;
		goto out;
	}
	*line = strdup(buf);
	rc = *line != NULL ? 0 : -1;
out:
	saved = errno;
	json_decref(obj);
	free(rd);
	close(fd);
	errno = saved;
	return rc;
}

int dumpstate_reloads(const char *path, struct dumpstate_reloads *r)
{
	const json_t *rl, *ok, *failed;
	char *line = NULL;
	json_t *obj;
	const char *error;

	memset(r, 0, sizeof(*r));
	if (dumpstate_counters(path, &line) < 0)
		return -1;
	obj = json_loads(line, 0, NULL);
	free(line);
	rl = json_object_get(obj, "reloads");
	ok = json_object_get(rl, "ok");
	failed = json_object_get(rl, "failed");
	if (!json_is_integer(ok) || !json_is_integer(failed)) {
		json_decref(obj);
		errno = EPROTO;
		return -1;
	}
	r->ok = (uint64_t)json_integer_value(ok);
	r->failed = (uint64_t)json_integer_value(failed);
	error = json_string_value(json_object_get(obj, "reload_error"));
	if (error != NULL)
		snprintf(r->error, sizeof(r->error), "%s", error);
	error = json_string_value(json_object_get(obj, "config"));
	if (error != NULL)
		snprintf(r->config, sizeof(r->config), "%s", error);
	json_decref(obj);
	return 0;
}

#define INODES_MAX 64		/* sockets of the daemon looked at */
#define UNIX_LISTENING 0x10000	/* __SO_ACCEPTCON in /proc/net/unix */

/* Collects the inodes of the sockets among the open files of pid. */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
	char dir[32], link[64], target[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%.20s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &inodes[n]) == 1)
			n++;
	}
	closedir(d);
	return n;
}

int dumpstate_find_socket(pid_t pid, char *path, size_t len)
{
	unsigned long inodes[INODES_MAX], inode, flags;
	unsigned type, st;
	char line[512];
	size_t n = socket_inodes(pid, inodes, INODES_MAX), i, nlen;
	FILE *f;
	int rc = -1;

	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	f = fopen("/proc/net/unix", "re");
	if (f == NULL)
		return -1;
	/* Num RefCount Protocol Flags Type St Inode Path */
	while (rc < 0 && fgets(line, sizeof(line), f) != NULL) {
		const char *name;
		int pos = 0;

		/* The path is the rest of the line, blanks and all. */
		if (sscanf(line, "%*s %*s %*s %lx %x %x %lu %n", &flags, &type,
			   &st, &inode, &pos) != 4 || pos == 0)
			continue;
		name = line + pos;
		nlen = strcspn(name, "\n");
		if (!(flags & UNIX_LISTENING) || type != SOCK_STREAM ||
		    name[0] != '/' || nlen >= len)
			continue;
		for (i = 0; i < n; i++) {
			if (inodes[i] == inode) {
				memcpy(path, name, nlen);
				path[nlen] = '\0';
				rc = 0;
				break;
			}
		}
	}
	fclose(f);
	if (rc < 0)
		errno = ENOENT;
	return rc;
}

pid_t dumpstate_find_daemon(const char *config)
{
	char self[PATH_MAX], exe[PATH_MAX], link[64], sock[CONFIG_SOCKET_PATH_MAX];
	struct dumpstate_reloads r;
	struct dirent *de;
	pid_t found = 0;
	ssize_t n;
	DIR *d;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (d = opendir("/proc")) == NULL)
		return 0;
	self[n] = '\0';
	while (found == 0 && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == (long)getpid())
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = '\0';
		if (strcmp(exe, self) != 0 ||
		    dumpstate_find_socket((pid_t)pid, sock, sizeof(sock)) < 0 ||
		    dumpstate_reloads(sock, &r) < 0)
			continue;
		if (strcmp(r.config, config) == 0)
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}
