/* libFuzzer target: arbitrary bytes through config_parse (SPEC §2). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nfflowd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		    cfg.control_socket[0] != '/' || cfg.syslog_ident[0] == '\0')
			__builtin_trap();
	} else {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "fuzz.conf: ", 11) != 0 ||
		    strchr(err, '\n') != NULL)
			__builtin_trap();
	}
	return 0;
}
