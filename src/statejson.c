/* The state dump's JSON lines, as the control socket sends them.
 *
 * Every reply is a sequence of JSON objects, one per line, each ending in
 * '\n'. Numbers are unsigned decimal integers; strings are addresses or
 * fixed words, except reload_error, the one free text, which is escaped
 * (quote, backslash, control characters; a byte that is not UTF-8 becomes
 * U+FFFD) and shortened to fit the caller's buffer, ending in "..." then.
 *
 * Counters line (first line of "state", the only line of "counters"):
 *   {"type":"counters","pid":P,"uptime":SECONDS,
 *    "events":{"new":N,"destroy":N,"ignored":N,"malformed":N},
 *    "records":N,"records_no_counters":N,"datagrams":N,"send_errors":N,
 *    "records_lost":N,"overruns":N,"resyncs":N,"lost_entries":N,
 *    "ttl_expired":N,"live":N,"reloads":{"ok":N,"failed":N},
 *    "interim":N,"queries":N,"ipv6":N,"skipped_ipv6":N,
 *    "syslog":{"sent":N,"queued":N,"dropped":N,"errors":N},
 *    "netlink_drops":N,"destroy_duplicates":N,"ttl_alive":N,
 *    "state_restored":N,"ended_unseen":N,"nat_creates":N,
 *    "nat_creates_late":N,"nat_deletes":N,
 *    "role":"active"|"handover"|"standby","role_changes":N,"handovers":N,
 *    "handed_over":N,"standby_suppressed":N,"injected_quiet":N,
 *    "peer_copies_active":N,
 *    "checkpoints":N,
 *    "checkpoint_errors":N,"config":TEXT,"reload_error":TEXT}
 *   config is the daemon's configuration file (escaped like reload_error;
 *   a path that does not fit is left out as "").
 *   reload_error is why the latest reload failed, "" when it succeeded or
 *   none failed; it comes last so that a long one can be shortened.
 *
 * Entry line (one per live entry, "state" only):
 *   {"type":"entry","id":CONNTRACK_ID,"proto":PROTO,
 *    "orig":TUPLE,"reply":TUPLE,"nat":"snat"|"dnat"|"snat+dnat"|"none",
 *    "age":SECONDS,"state":TCP_STATE,"source":"dump"|"event"}
 *   PROTO is "tcp", "udp", "icmp", "icmpv6", "udplite", "sctp", "dccp",
 *   "gre", "esp" or "ah", any other protocol its number as a string ("89").
 *   TUPLE for every protocol but ICMP and ICMPv6:
 *                      {"src":"A.B.C.D","sport":N,"dst":"A.B.C.D","dport":N}
 *   where the ports of GRE are its keys (PPTP call ids, 0 for GRE without
 *   them) and those of a protocol without ports (ESP, AH, ...) are 0.
 *   (IPv6 entries: addresses as RFC 5952 text)
 *   TUPLE for ICMP:    {"src":"A.B.C.D","dst":"A.B.C.D","type":N,"code":N,
 *                       "id":N}
 *   Tuples are conntrack's: "reply" is the reply direction as it arrives,
 *   so the original direction as it left the box (post-NAT) is
 *   reply.dst:reply.dport -> reply.src:reply.sport (SPEC §3, record 2).
 *   TCP_STATE is one of NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT
 *   CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE SYN_SENT2 (enum tcp_conntrack),
 *   UNKNOWN for any other value, "" for every other protocol. It is the
 *   state when nfflowd learned the entry (its NEW event, or the table dump
 *   at start): nfflowd follows NEW and DESTROY events only, not every state
 *   change, so a connection learned from its NEW shows SYN_SENT.
 *   "snat": the source (for ICMP also the id) was rewritten; "dnat": the
 *   destination was. "source" tells whether the entry was first seen in a
 *   table dump (a connection older than the daemon or a resync) or by its
 *   NEW event. "age" is whole seconds since the entry's known start.
 *
 * End line (last line of "state"):
 *   {"type":"end","entries":N}   N = number of entry lines sent.
 *
 * Error line (instead of all of the above, then the server closes):
 *   {"error":"TEXT"}
 */
#include "nfflowd/statejson.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PROTO_ICMP 1
#define PROTO_ICMPV6 58
#define TUPLE_JSON_MAX 192
#define PROTO_TCP 6

/* The names /etc/protocols gives the protocols conntrack has a tracker for
 * (and ESP and AH, which its generic tracker follows on every VPN gateway);
 * other protocols are shown as their number. */
static const char *const proto_names[256] = {
	[1] = "icmp", [6] = "tcp", [17] = "udp", [33] = "dccp", [47] = "gre",
	[50] = "esp", [51] = "ah", [58] = "icmpv6", [132] = "sctp",
	[136] = "udplite",
};

static const char *const tcp_states[] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

/* Turns snprintf's result into the module's convention: length or 0. */
static size_t fitted(char *buf, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* Writes a host-order IPv4 address as a dotted quad into a 16-byte buffer. */
static void dotted(char out[16], uint32_t a)
{
	snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(a >> 24),
		 (unsigned)((a >> 16) & 0xFF), (unsigned)((a >> 8) & 0xFF),
		 (unsigned)(a & 0xFF));
}

/* Formats one direction's tuple as a JSON object; a6 gives the addresses
 * of an IPv6 entry. */
static void tuple_json(char out[TUPLE_JSON_MAX], const struct ct_tuple *t,
		       const struct ct_addr6 *a6, bool icmp)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	if (a6 != NULL) {
		inet_ntop(AF_INET6, a6->src, src, sizeof(src));
		inet_ntop(AF_INET6, a6->dst, dst, sizeof(dst));
	} else {
		dotted(src, t->src);
		dotted(dst, t->dst);
	}
	if (icmp)
		snprintf(out, TUPLE_JSON_MAX,
			 "{\"src\":\"%s\",\"dst\":\"%s\",\"type\":%u,"
			 "\"code\":%u,\"id\":%u}", src, dst,
			 (unsigned)(t->dport >> 8), (unsigned)(t->dport & 0xFF),
			 (unsigned)t->sport);
	else
		snprintf(out, TUPLE_JSON_MAX,
			 "{\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\","
			 "\"dport\":%u}", src, (unsigned)t->sport, dst,
			 (unsigned)t->dport);
}

/* Names the NAT the reply tuple reveals, compared with the original one. */
static const char *nat_kind(const struct flow_entry *e,
			    const struct flow_addr6 *a6)
{
	const struct ct_tuple *o = &e->orig, *r = &e->reply;
	bool icmp = e->proto == PROTO_ICMP || e->proto == PROTO_ICMPV6;
	bool snat, dnat, sa, da;

	if (a6 != NULL) {
		sa = memcmp(a6->reply6.dst, a6->orig6.src, 16) != 0;
		da = memcmp(a6->reply6.src, a6->orig6.dst, 16) != 0;
	} else {
		sa = r->dst != o->src;
		da = r->src != o->dst;
	}
	if (icmp) {
		snat = sa || r->sport != o->sport;
		dnat = da;
	} else {
		snat = sa || r->dport != o->sport;
		dnat = da || r->sport != o->dport;
	}
	if (snat && dnat)
		return "snat+dnat";
	if (snat)
		return "snat";
	return dnat ? "dnat" : "none";
}

/* Length of the well-formed UTF-8 sequence at s (at most len bytes), 0 when
 * there is none (stray continuation byte, overlong form, surrogate, beyond
 * U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Writes the text s (len bytes) as the inside of a JSON string into out,
 * at most room bytes, never cutting an escape or a character in two.
 * Returns the bytes written; *done tells whether all of s fitted. */
static size_t escape_json(char *out, size_t room, const char *s, size_t len,
			  bool *done)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		char esc[8];
		const char *piece = esc;
		size_t plen, step = 1;

		switch (u[i]) {
		case '"': piece = "\\\""; break;
		case '\\': piece = "\\\\"; break;
		case '\n': piece = "\\n"; break;
		case '\r': piece = "\\r"; break;
		case '\t': piece = "\\t"; break;
		default:
			if (u[i] < 0x20 || u[i] == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			} else {
				step = utf8_seq(u + i, len - i);
				if (step == 0) {
					piece = "\\ufffd";
					step = 1;
				} else {
					piece = s + i;
				}
			}
			break;
		}
		plen = piece == s + i ? step : strlen(piece);
		if (o + plen > room) {
			*done = false;
			return o;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += step;
	}
	*done = true;
	return o;
}

size_t statejson_counters(char *buf, size_t len, const struct state_counters *c)
{
	static const char tail[] = "\"}\n";
	static const char more[] = "...";
	static const char mid[] = "\",\"reload_error\":\"";
	size_t n, room, w, reason_len;
	bool done;

	if (buf == NULL || len == 0)
		return 0;
	n = fitted(buf, len, snprintf(buf, len,
		"{\"type\":\"counters\",\"pid\":%" PRIu64 ",\"uptime\":%" PRIu64
		",\"events\":{\"new\":%" PRIu64 ",\"destroy\":%" PRIu64
		",\"ignored\":%" PRIu64 ",\"malformed\":%" PRIu64 "}"
		",\"records\":%" PRIu64 ",\"records_no_counters\":%" PRIu64
		",\"datagrams\":%" PRIu64 ",\"send_errors\":%" PRIu64
		",\"records_lost\":%" PRIu64 ",\"overruns\":%" PRIu64
		",\"resyncs\":%" PRIu64 ",\"lost_entries\":%" PRIu64
		",\"ttl_expired\":%" PRIu64 ",\"live\":%" PRIu64
		",\"reloads\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 "}"
		",\"interim\":%" PRIu64 ",\"queries\":%" PRIu64
		",\"ipv6\":%" PRIu64
		",\"skipped_ipv6\":%" PRIu64
		",\"syslog\":{\"sent\":%" PRIu64 ",\"queued\":%" PRIu64
		",\"dropped\":%" PRIu64 ",\"errors\":%" PRIu64 "}"
		",\"netlink_drops\":%" PRIu64
		",\"destroy_duplicates\":%" PRIu64 ",\"ttl_alive\":%" PRIu64
		",\"state_restored\":%" PRIu64 ",\"ended_unseen\":%" PRIu64
		",\"nat_creates\":%" PRIu64 ",\"nat_creates_late\":%" PRIu64
		",\"nat_deletes\":%" PRIu64
		",\"role\":\"%s\",\"role_changes\":%" PRIu64
		",\"handovers\":%" PRIu64 ",\"handed_over\":%" PRIu64
		",\"standby_suppressed\":%" PRIu64 ",\"injected_quiet\":%" PRIu64
		",\"peer_copies_active\":%" PRIu64
		",\"checkpoints\":%" PRIu64 ",\"checkpoint_errors\":%" PRIu64
		",\"config\":\"",
		c->pid, c->uptime_s, c->events_new, c->events_destroy,
		c->events_ignored, c->events_malformed, c->records,
		c->records_no_counters, c->datagrams, c->send_errors,
		c->records_lost, c->overruns, c->resyncs, c->lost_entries,
		c->ttl_expired, c->live, c->reloads_ok, c->reloads_failed,
		c->interim, c->queries, c->ipv6, c->skipped_ipv6,
		c->syslog_sent, c->syslog_queued, c->syslog_dropped,
		c->syslog_errors, c->netlink_drops, c->destroy_duplicates,
		c->ttl_alive, c->state_restored, c->ended_unseen,
		c->nat_creates, c->nat_creates_late, c->nat_deletes,
		c->role == 0 ? "active" : c->role == 1 ? "handover" : "standby",
		c->role_changes, c->handovers, c->handed_over,
		c->standby_suppressed, c->injected_quiet, c->peer_copies_active,
		c->checkpoints, c->checkpoint_errors));
	/* The numbers, the closing quote, brace, newline and NUL must fit. */
	if (n == 0 || len - n < sizeof(tail)) {
		buf[0] = '\0';
		return 0;
	}
	room = len - n - sizeof(tail);
	w = escape_json(buf + n, room, c->config,
			strnlen(c->config, sizeof(c->config)), &done);
	if (!done)
		w = 0;	/* a path cut short would name another file */
	n += w;
	if (len - n < sizeof(mid) - 1 + sizeof(tail)) {
		buf[0] = '\0';
		return 0;
	}
	memcpy(buf + n, mid, sizeof(mid) - 1);
	n += sizeof(mid) - 1;
	room = len - n - sizeof(tail);
	reason_len = strnlen(c->reload_error, sizeof(c->reload_error));
	w = escape_json(buf + n, room, c->reload_error, reason_len, &done);
	if (!done) {
		w = room < sizeof(more) - 1 ? 0 :
		    escape_json(buf + n, room - (sizeof(more) - 1),
				c->reload_error, reason_len, &done);
		if (room >= sizeof(more) - 1) {
			memcpy(buf + n + w, more, sizeof(more) - 1);
			w += sizeof(more) - 1;
		}
	}
	n += w;
	memcpy(buf + n, tail, sizeof(tail));
	return n + sizeof(tail) - 1;
}

size_t statejson_entry(char *buf, size_t len, const struct flow_entry *e,
		       const struct flow_addr6 *a6, uint64_t now_boot_ns)
{
	char orig[TUPLE_JSON_MAX], reply[TUPLE_JSON_MAX], protobuf[4];
	const char *proto, *state = "";
	bool icmp = e->proto == PROTO_ICMP || e->proto == PROTO_ICMPV6;

	if (!(e->flags & FLOW_F_INET6))
		a6 = NULL;
	uint64_t age;

	if (buf == NULL || len == 0)
		return 0;
	proto = proto_names[e->proto];
	if (proto == NULL) {
		snprintf(protobuf, sizeof(protobuf), "%u", (unsigned)e->proto);
		proto = protobuf;
	}
	if (e->proto == PROTO_TCP)
		state = e->tcp_state < sizeof(tcp_states) / sizeof(tcp_states[0])
			? tcp_states[e->tcp_state] : "UNKNOWN";
	age = flowtab_age_ms(e, now_boot_ns) / 1000u;
	tuple_json(orig, &e->orig, a6 ? &a6->orig6 : NULL, icmp);
	tuple_json(reply, &e->reply, a6 ? &a6->reply6 : NULL, icmp);
	return fitted(buf, len, snprintf(buf, len,
		"{\"type\":\"entry\",\"id\":%" PRIu32 ",\"proto\":\"%s\","
		"\"orig\":%s,\"reply\":%s,\"nat\":\"%s\",\"age\":%" PRIu64 ","
		"\"state\":\"%s\",\"source\":\"%s\"}\n",
		e->id, proto, orig, reply, nat_kind(e, a6), age, state,
		(e->flags & FLOW_F_FROM_DUMP) ? "dump" : "event"));
}

size_t statejson_end(char *buf, size_t len, uint64_t entries)
{
	if (buf == NULL || len == 0)
		return 0;
	return fitted(buf, len, snprintf(buf, len,
		"{\"type\":\"end\",\"entries\":%" PRIu64 "}\n", entries));
}
