/* The control socket: a UNIX stream socket on which `nfflowd --dump-state`
 * asks for the counters and the live table (line protocol in statejson.c).
 *
 * Each client gets a bufferevent, so nothing here ever blocks the loop. A
 * "state" reply is streamed: the entries are formatted CHUNK_ENTRIES at a
 * time, and the next chunk is produced only when the client has drained
 * the output buffer below LOW_WATER. The memory a client can hold is thus
 * bounded by about LOW_WATER plus one chunk, however large the table and
 * however slow the reader. Between chunks the loop runs on and the table
 * changes; the iteration cursor is a position, so an entry that moves
 * meanwhile (another was removed, the table was resynchronised) may be
 * missed or sent twice. The dump is a snapshot of nothing in particular,
 * which is accepted: it is for eyes and scripts, not for accounting. */
#include "nfflowd/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "nfflowd/log.h"
#include "nfflowd/metrics.h"

#ifndef CONTROL_READ_TIMEOUT_MS
#define CONTROL_READ_TIMEOUT_MS 5000	/* a silent client is dropped */
#endif
#ifndef CONTROL_WRITE_TIMEOUT_MS
#define CONTROL_WRITE_TIMEOUT_MS 30000	/* a client that stops reading */
#endif
#define CLIENTS_MAX 16
#define CHUNK_ENTRIES 512
#define LOW_WATER (64 * 1024)
#define LINE_MAX_LEN 4096	/* longer than any statejson line */
#define ACCEPTS_PER_WAKEUP 16

enum phase {
	PHASE_READING,		/* waiting for the request line */
	PHASE_STREAMING,	/* sending entries chunk by chunk */
	PHASE_CLOSING,		/* everything queued; close once flushed */
};

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	enum phase phase;
	size_t cursor;		/* flowtab_next position */
	uint64_t sent;		/* entry lines queued so far */
	struct client *prev, *next;
};

struct control {
	struct event_base *base;
	int fd;
	struct event *accept_ev;
	struct event *backoff_ev;	/* re-arms accept after EMFILE */
	struct control_source src;
	struct client *clients;
	unsigned nclients;
	dev_t dev;			/* the socket file we created */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static struct log_rate accept_rate = LOG_RATE_INIT(60);

enum control_request control_parse_request(const char *buf, size_t len)
{
	if (buf == NULL || len >= CONTROL_REQUEST_MAX)
		return CONTROL_REQ_INVALID;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len) != NULL)
		return CONTROL_REQ_INVALID;
	if (len == 5 && memcmp(buf, "state", 5) == 0)
		return CONTROL_REQ_STATE;
	if (len == 8 && memcmp(buf, "counters", 8) == 0)
		return CONTROL_REQ_COUNTERS;
	if (len == 7 && memcmp(buf, "metrics", 7) == 0)
		return CONTROL_REQ_METRICS;
	if (len == 11 && memcmp(buf, "role active", 11) == 0)
		return CONTROL_REQ_ROLE_ACTIVE;
	if (len == 12 && memcmp(buf, "role standby", 12) == 0)
		return CONTROL_REQ_ROLE_STANDBY;
	if (len == 9 && memcmp(buf, "role auto", 9) == 0)
		return CONTROL_REQ_ROLE_AUTO;
	return CONTROL_REQ_INVALID;
}

/* Converts milliseconds to a timeval for libevent. */
static struct timeval ms_tv(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

/* Unlinks a client from the list and frees it with its connection. */
static void client_free(struct client *cl)
{
	struct control *c = cl->ctl;

	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	c->nclients--;
	bufferevent_free(cl->bev);
	free(cl);
}

/* Queues the last bytes and arranges for the client to be closed once the
 * output buffer is empty (the write callback then fires at length 0). */
static void client_finish(struct client *cl)
{
	cl->phase = PHASE_CLOSING;
	bufferevent_disable(cl->bev, EV_READ);
	bufferevent_setwatermark(cl->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
		client_free(cl);
}

/* Sends {"error":"text"} and closes. */
static void client_error(struct client *cl, const char *text)
{
	evbuffer_add_printf(bufferevent_get_output(cl->bev),
			    "{\"error\":\"%s\"}\n", text);
	client_finish(cl);
}

/* Queues the counters line. */
static void add_counters(struct client *cl)
{
	struct control *c = cl->ctl;
	struct state_counters sc;
	char line[LINE_MAX_LEN];
	size_t n;

	memset(&sc, 0, sizeof(sc));
	c->src.counters(c->src.arg, &sc);
	n = statejson_counters(line, sizeof(line), &sc);
	evbuffer_add(bufferevent_get_output(cl->bev), line, n);
}

/* Queues the metrics text. */
static void add_metrics(struct client *cl)
{
	struct control *c = cl->ctl;
	char text[METRICS_TEXT_MAX];
	size_t n = c->src.metrics ? c->src.metrics(c->src.arg, text, sizeof(text)) : 0;

	evbuffer_add(bufferevent_get_output(cl->bev), text, n);
}

/* Queues the next chunk of entries, and the end line after the last one. */
static void add_chunk(struct client *cl)
{
	struct control *c = cl->ctl;
	struct evbuffer *out = bufferevent_get_output(cl->bev);
	const struct flowtab *t = c->src.table(c->src.arg);
	uint64_t now = c->src.now_boot_ns(c->src.arg);
	const struct flow_entry *e = NULL;
	char line[LINE_MAX_LEN];
	size_t n;
	int i;

	for (i = 0; i < CHUNK_ENTRIES; i++) {
		e = t != NULL ? flowtab_next(t, &cl->cursor) : NULL;
		if (e == NULL)
			break;
		n = statejson_entry(line, sizeof(line), e, flowtab_addr6(t, e), now);
		if (n == 0)
			continue;
		evbuffer_add(out, line, n);
		cl->sent++;
	}
	if (e == NULL) {
		n = statejson_end(line, sizeof(line), cl->sent);
		evbuffer_add(out, line, n);
		client_finish(cl);
	}
}

/* Answers one request line. */
static void client_request(struct client *cl, const char *req, size_t len)
{
	switch (control_parse_request(req, len)) {
	case CONTROL_REQ_STATE:
		bufferevent_disable(cl->bev, EV_READ);
		add_counters(cl);
		cl->phase = PHASE_STREAMING;
		add_chunk(cl);
		break;
	case CONTROL_REQ_COUNTERS:
		add_counters(cl);
		client_finish(cl);
		break;
	case CONTROL_REQ_METRICS:
		add_metrics(cl);
		client_finish(cl);
		break;
	case CONTROL_REQ_ROLE_ACTIVE:
	case CONTROL_REQ_ROLE_STANDBY:
	case CONTROL_REQ_ROLE_AUTO:
		if (cl->ctl->src.set_role == NULL) {
			client_error(cl, "roles are not offered here");
			break;
		}
		cl->ctl->src.set_role(cl->ctl->src.arg,
				      control_parse_request(req, len));
		add_counters(cl);
		client_finish(cl);
		break;
	default:
		client_error(cl, "unknown request (expected state, counters, metrics or role active|standby|auto)");
		break;
	}
}

/* Looks for the request line in what the client has sent so far. */
static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char req[CONTROL_REQUEST_MAX];
	size_t eol_len = 0;

	if (cl->phase != PHASE_READING)
		return;
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) >= CONTROL_REQUEST_MAX)
			client_error(cl, "request too long");
		return;
	}
	if ((size_t)eol.pos + 1 > CONTROL_REQUEST_MAX) {
		client_error(cl, "request too long");
		return;
	}
	evbuffer_remove(in, req, (size_t)eol.pos);
	client_request(cl, req, (size_t)eol.pos);
}

/* Produces the next chunk once the client has drained enough, or closes a
 * finished client once everything is written. */
static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;

	if (cl->phase == PHASE_STREAMING)
		add_chunk(cl);
	else if (cl->phase == PHASE_CLOSING &&
		 evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(cl);
}

/* End of file, error or timeout: a request without its newline still
 * counts when the client shut down its side; anything else closes. */
static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	char req[CONTROL_REQUEST_MAX];

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    cl->phase == PHASE_READING && len > 0) {
		if (len >= CONTROL_REQUEST_MAX) {
			client_error(cl, "request too long");
			return;
		}
		evbuffer_remove(in, req, len);
		client_request(cl, req, len);
		return;
	}
	client_free(cl);
}

/* Refuses a connection beyond the cap with a short line the socket buffer
 * surely takes, without a bufferevent. */
static void refuse(int fd)
{
	static const char msg[] = "{\"error\":\"too many clients\"}\n";

	if (send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_rated(&accept_rate, LOG_WARNING,
			  "control: refusing a client: %s", strerror(errno));
	close(fd);
}

/* Sets up one accepted connection. */
static void client_add(struct control *c, int fd)
{
	struct timeval rtv = ms_tv(CONTROL_READ_TIMEOUT_MS);
	struct timeval wtv = ms_tv(CONTROL_WRITE_TIMEOUT_MS);
	struct client *cl;

	if (c->nclients >= CLIENTS_MAX) {
		refuse(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cl->bev == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->ctl = c;
	cl->phase = PHASE_READING;
	cl->next = c->clients;
	if (c->clients != NULL)
		c->clients->prev = cl;
	c->clients = cl;
	c->nclients++;
	bufferevent_setcb(cl->bev, client_read_cb, client_write_cb,
			  client_event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_WRITE, LOW_WATER, 0);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_REQUEST_MAX);
	bufferevent_set_timeouts(cl->bev, &rtv, &wtv);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

/* Re-enables accepting after a pause for lack of descriptors. */
static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	event_add(c->accept_ev, NULL);
}

/* Accepts the pending connections (a bounded number per wakeup). */
static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control *c = arg;
	struct timeval second = { 1, 0 };
	int i, fd;

	(void)what;
	for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			client_add(c, fd);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			return;
		log_rated(&accept_rate, LOG_WARNING, "control: accept on %s: %s",
			  c->path, strerror(errno));
		/* Out of descriptors: the socket stays readable, so stop
		 * listening for a second instead of spinning. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			event_del(c->accept_ev);
			event_add(c->backoff_ev, &second);
		}
		return;
	}
}

/* Checks what is at path now: nothing, a stale socket (removed) or a live
 * daemon (refused). Returns 0 when the path is free. */
static int clear_path(const char *path, const struct sockaddr_un *sa,
		      char *err, size_t errlen)
{
	struct stat st;
	int probe, rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	/* EAGAIN: a listener whose backlog is full, still a live one. */
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(probe);
		snprintf(err, errlen, "another daemon answers on %s", path);
		return -1;
	}
	close(probe);
	if (errno != ECONNREFUSED && errno != ENOENT) {
		snprintf(err, errlen, "probing the existing socket: %s",
			 strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "removing the stale socket: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Creates, binds (mode 0600) and listens on the socket. Returns the fd. */
static int listen_on(struct control *c, const struct sockaddr_un *sa,
		     char *err, size_t errlen)
{
	struct stat st;
	mode_t old;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(c->path, 0600) < 0 || lstat(c->path, &st) < 0 ||
	    listen(fd, CLIENTS_MAX) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		unlink(c->path);
		close(fd);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return fd;
}

/* err gets the bare reason; the caller names the socket path before it. */
struct control *control_open(struct event_base *base, const char *path,
			     const struct control_source *src, char *err,
			     size_t errlen)
{
	struct sockaddr_un sa;
	struct control *c;

	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "the path is empty or longer than %zu "
			 "bytes", sizeof(sa.sun_path) - 1);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	c->src = *src;
	c->fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (clear_path(path, &sa, err, errlen) < 0)
		goto fail;
	c->fd = listen_on(c, &sa, err, errlen);
	if (c->fd < 0)
		goto fail;
	c->accept_ev = event_new(base, c->fd, EV_READ | EV_PERSIST, accept_cb,
				 c);
	c->backoff_ev = evtimer_new(base, backoff_cb, c);
	if (c->accept_ev == NULL || c->backoff_ev == NULL ||
	    event_add(c->accept_ev, NULL) < 0) {
		snprintf(err, errlen, "cannot register with the event loop");
		goto fail;
	}
	return c;
fail:
	control_close(c);
	return NULL;
}

void control_close(struct control *c)
{
	struct stat st;

	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_free(c->clients);
	if (c->accept_ev != NULL)
		event_free(c->accept_ev);
	if (c->backoff_ev != NULL)
		event_free(c->backoff_ev);
	if (c->fd >= 0) {
		close(c->fd);
		/* Only our own file: a successor may have replaced it. */
		if (lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
		    st.st_ino == c->ino)
			unlink(c->path);
	}
	free(c);
}
