/* JSON configuration (SPEC §2): bytes -> validated struct config (pure). */
#ifndef NFFLOWD_CONFIG_H
#define NFFLOWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_DEFAULT_PATH "/etc/nfflowd.conf"
/* In the unit's RuntimeDirectory (/run/nfflowd, owned by the daemon's
 * user); run by hand as root, the daemon creates the directory. */
#define CONFIG_DEFAULT_PIDFILE "/run/nfflowd/nfflowd.pid"
#define CONFIG_DEFAULT_SOCKET "/run/nfflowd/nfflowd.sock"
/* The interim-export state (statefile.h); "" in the file turns it off. */
#define CONFIG_DEFAULT_STATE_FILE "/var/lib/nfflowd/nfflowd.state"
#define CONFIG_DEFAULT_CHECKPOINT_INTERVAL 60
/* Resynchronisations (a full table dump) after lost events: at most one
 * per this many seconds. */
#define CONFIG_DEFAULT_RESYNC_INTERVAL 10
/* A planned switch-over moves keepalived's addresses within about a second
 * (a priority-0 advertisement, or preemption at the next one). */
#define CONFIG_DEFAULT_HANDOVER_DELAY 3
/* Where syslog(3) sends, and where the record lines go by default. */
#define CONFIG_DEFAULT_SYSLOG_SOCKET "/dev/log"
/* Record lines that may wait for a slow or absent syslog daemon: the
 * lines of a flush storm of 100,000 connections and more (rsyslog writing
 * to a file takes them at about 150,000 a second); about 42 MiB when all
 * wait, mapped only while they wait. */
#define CONFIG_DEFAULT_SYSLOG_BACKLOG 262144
#define CONFIG_SYSLOG_BACKLOG_MAX 10000000
#define CONFIG_PATH_MAX 256
#define CONFIG_SOCKET_PATH_MAX 108	/* sizeof(sun_path) */
#define CONFIG_IDENT_MAX 64
#define CONFIG_ERR_MAX 512
/* Default netlink receive buffer: 64 MiB (SO_RCVBUFFORCE). */
#define CONFIG_DEFAULT_NETLINK_BUFFER (64u << 20)

#define CONFIG_MAX_COLLECTORS 8
#define CONFIG_DEFAULT_ACTIVE_TIMEOUT 1800
/* Template refresh defaults for UDP transport. 600 s is RFC 6728's default
 * for templateRefreshTimeout; its templateRefreshPacket has no default
 * (omitted, templates are resent on the timeout only), so the 20 datagrams
 * are the customary NetFlow v9 exporter default, not the RFC's. */
#define CONFIG_DEFAULT_TEMPLATE_PACKETS 20
#define CONFIG_DEFAULT_TEMPLATE_SECONDS 600

/* One collector: where, from where, and which protocol. */
struct config_collector {
	char source_str[64];
	char collector_str[64];
	struct sockaddr_storage source;		/* port 0 */
	struct sockaddr_storage collector;	/* with port */
	socklen_t addrlen;
	uint16_t port;				/* host order */
	uint8_t version;			/* 5, 9 or 10 (IPFIX) */
	uint8_t nat_events;			/* enum nfx_nat_mode; v9/IPFIX */
	bool flows;				/* traffic records (false: NAT
						 * events only) */
};

struct config {
	/* Every collector, in file order: the top-level source/collector/port
	 * (or args) first when given, as a v5 collector, then the entries of
	 * `collectors`. At least one. */
	struct config_collector collectors[CONFIG_MAX_COLLECTORS];
	unsigned ncollectors;

	/* collectors[0] again, under the names the v5-only code uses.
	 * source and collector are of the same family; port is in host
	 * order. */
	char source_str[64];
	char collector_str[64];
	struct sockaddr_storage source;		/* port 0 */
	struct sockaddr_storage collector;	/* with port */
	socklen_t addrlen;
	uint16_t port;

	uint32_t ttl;			/* seconds, > 0 */
	double flush_interval;		/* seconds, > 0 */
	uint8_t engine_type;
	uint8_t engine_id;
	/* v9 source id / IPFIX observation domain; 0 (the default): the
	 * daemon derives one from the machine id, so that two firewalls
	 * differ (RFC 7011 reserves 0). */
	uint32_t observation_domain;
	/* Firewall pairs: export only while this address (the HA manager's
	 * virtual address) is configured here; "" = always (the default). */
	char active_when_address[64];
	struct sockaddr_storage active_addr;
	/* Seconds between losing the role and the handover dump: the traffic
	 * keeps coming until the peer has the address and announced it. */
	uint32_t handover_delay;
	bool untranslated_records;

	bool syslog_enabled;
	int syslog_facility;		/* LOG_LOCAL6 etc. */
	int syslog_priority;		/* LOG_INFO etc. */
	char syslog_ident[CONFIG_IDENT_MAX];
	char syslog_socket[CONFIG_SOCKET_PATH_MAX];	/* AF_UNIX datagram */
	uint32_t syslog_backlog;	/* record lines that may wait */

	bool to_stdout;
	char pidfile[CONFIG_PATH_MAX];
	char control_socket[CONFIG_SOCKET_PATH_MAX];
	bool kernel_setup;
	uint32_t netlink_buffer;	/* bytes, SO_RCVBUFFORCE */
	bool netlink_reliable;		/* ask for reliable DESTROY delivery */

	uint32_t active_timeout;	/* seconds, 0 = off */
	uint32_t template_refresh_packets;	/* v9/IPFIX: every N datagrams, 0 = off */
	uint32_t template_refresh_seconds;	/* and every T seconds, 0 = off */
	bool interfaces;		/* ifIndex and next hop by route lookup */

	char state_file[CONFIG_PATH_MAX];	/* "" = no state file */
	uint32_t checkpoint_interval;	/* seconds, 0 = only at stop */
	uint32_t resync_interval;	/* seconds between resyncs, >= 1 */
	/* Prometheus text rewritten every few seconds, for node_exporter's
	 * textfile collector; "" = none (the default). */
	char metrics_file[CONFIG_PATH_MAX];
};

/* Fills cfg with every default; source/collector/port stay unset. */
void config_defaults(struct config *cfg);

/* Parses and validates a whole file's bytes. name is the file name used in
 * messages. On error returns -1 and writes one line to err (no newline):
 *   "FILE: line L, column C: <jansson text>"            JSON syntax
 *   "FILE: key 'ttl': must be an integer > 0"           bad value
 *   "FILE: unknown key 'colector' (did you mean 'collector'?)"
 *   "FILE: this is the old 'args a b c' format; write it as JSON: {...}"
 * Returns 0 and fills *cfg on success. */
int config_parse(const char *buf, size_t len, const char *name,
		 struct config *cfg, char *err, size_t errlen);

/* Reads the file and calls config_parse; missing or unreadable files are
 * reported as "FILE: <strerror>". */
int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen);

/* Best effort for `stop` with a broken file: reads just pidfile and
 * control_socket from the bytes, leaving defaults where it cannot. Returns
 * 0 if both came from the file (or were absent and defaulted cleanly), -1
 * if the file could not be read as JSON at all (defaults are then kept). */
int config_load_paths(const char *path, struct config *cfg);

/* "NetFlow v5", "NetFlow v9" or "IPFIX", for messages. */
const char *config_version_name(uint8_t version);

/* What a collector gets, for messages: "IPFIX", or "IPFIX, NAT events
 * (rfc8158 numbering) only, no traffic records". Returns buf. */
const char *config_collector_desc(const struct config_collector *cc,
				  char *buf, size_t len);

/* Names for the syslog facility/priority values, for messages. */
const char *config_facility_name(int facility);
const char *config_priority_name(int priority);

#endif
