/* libFuzzer target: arbitrary bytes through config_parse (SPEC §2). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nfflowd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every accepted file has 1 to CONFIG_MAX_COLLECTORS collectors, each
 * with a known protocol, a port and matching families, and the v5-only
 * fields mirror the first. */
static void check_collectors(const struct config *cfg)
{
	unsigned i;

	if (cfg->ncollectors < 1 || cfg->ncollectors > CONFIG_MAX_COLLECTORS ||
	    cfg->port != cfg->collectors[0].port ||
	    memcmp(&cfg->collector, &cfg->collectors[0].collector,
		   sizeof(cfg->collector)) != 0 ||
	    (cfg->template_refresh_packets == 0 &&
	     cfg->template_refresh_seconds == 0))
		__builtin_trap();
	for (i = 0; i < cfg->ncollectors; i++) {
		const struct config_collector *c = &cfg->collectors[i];

		if ((c->version != 5 && c->version != 9 && c->version != 10) ||
		    c->port == 0 || c->addrlen == 0 ||
		    c->source.ss_family != c->collector.ss_family)
			__builtin_trap();
	}
}

/* Parses one input and checks that every outcome is well formed. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	memset(err, 'x', sizeof(err));
	if (config_parse((const char *)data, size, "fuzz.conf", &cfg, err,
			 sizeof(err)) == 0) {
		if (cfg.port == 0 || cfg.ttl == 0 || !(cfg.flush_interval > 0) ||
		    cfg.addrlen == 0 || cfg.source.ss_family !=
		    cfg.collector.ss_family || cfg.pidfile[0] != '/' ||
		    cfg.control_socket[0] != '/' || cfg.syslog_ident[0] == '\0' ||
		    cfg.syslog_socket[0] != '/' ||
		    memchr(cfg.syslog_socket, '\0', sizeof(cfg.syslog_socket)) == NULL ||
		    cfg.syslog_backlog < 1 ||
		    cfg.syslog_backlog > CONFIG_SYSLOG_BACKLOG_MAX)
			__builtin_trap();
		check_collectors(&cfg);
	} else {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "fuzz.conf: ", 11) != 0 ||
		    strchr(err, '\n') != NULL)
			__builtin_trap();
	}
	return 0;
}
