/* Writes the flow-tools CSV line of each exported record. */
#include <stdio.h>
#include <syslog.h>

#include "nfflowd/csvline.h"
#include "nfflowd/log.h"
#include "nfflowd/natlog.h"

/* Takes the sink settings from a validated configuration; syslog is
 * (re)opened under the configured ident. */
void natlog_configure(struct natlog *n, const struct config *cfg)
{
	if (cfg->syslog_enabled)
		log_syslog_ident(cfg->syslog_ident);
	n->to_syslog = cfg->syslog_enabled;
	n->to_stdout = cfg->to_stdout;
	n->syslog_prio = cfg->syslog_facility | cfg->syslog_priority;
	snprintf(n->exaddr, sizeof(n->exaddr), "%s", cfg->source_str);
}

/* One line per record to each enabled sink; stdout is flushed per datagram
 * so that a reader sees whole datagrams. */
void natlog_datagram(const struct natlog *n, const struct nf5_header *h,
		     const struct flow_record *recs, unsigned count)
{
	char line[CSVLINE_MAX];
	unsigned i;

	if (n == NULL || (!n->to_syslog && !n->to_stdout))
		return;
	for (i = 0; i < count; i++) {
		size_t len = csvline_format(line, sizeof(line), h, n->exaddr,
					    &recs[i]);
		if (len == 0)
			continue;
		if (n->to_syslog)
			syslog(n->syslog_prio, "%s", line);
		if (n->to_stdout) {
			line[len] = '\n';
			fwrite(line, 1, len + 1, stdout);
		}
	}
	if (n->to_stdout)
		fflush(stdout);
}
