/* Command line: options, the client commands, then daemon_run(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "build_config.h"
#include "nfflowd/config.h"
#include "nfflowd/daemon.h"
#include "nfflowd/dumpstate.h"
#include "nfflowd/export.h"
#include "nfflowd/install.h"
#include "nfflowd/kernel.h"
#include "nfflowd/log.h"
#include "nfflowd/pidfile.h"

#define EXIT_USAGE 2
#define STOP_WAIT_SECONDS 30
#define RELOAD_WAIT_SECONDS 30
#define RELOAD_POLL_MS 50

struct opts {
	const char *config;
	bool foreground;
	bool dump_state;
	bool json;
	bool prometheus;	/* --format prometheus */
	bool format_set;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfflowd [-c FILE] [-f] COMMAND\n"
		"       nfflowd [-c FILE] --dump-state [--json | --format text|json|prometheus]\n"
		"       nfflowd -h | --help      nfflowd -V | --version\n"
		"\n"
		"Exports every connection conntrack tracks (TCP, UDP, ICMP, SCTP, GRE,\n"
		"ESP and every other protocol; IPv4, and IPv6 on v9/IPFIX) with its NAT\n"
		"translation, zone and TCP flags derived from its state, as NetFlow v5,\n"
		"v9 or IPFIX records, and on v9/IPFIX NAT session events (RFC 8158) and\n"
		"options records (sampling, interface names, exporter totals).\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -f, --foreground   with start/restart: do not detach\n"
		"      --dump-state   show the running daemon's live table and counters\n"
		"      --json         with --dump-state: machine-readable output\n"
		"      --format F     with --dump-state: text (default), json, or\n"
		"                     prometheus (every counter as Prometheus metrics)\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n"
		"\n"
		"Commands:\n"
		"  start     start the daemon unless it is already running\n"
		"  stop      stop the running daemon and wait until it is gone\n"
		"  restart   stop if running, then start\n"
		"  reload    validate the configuration, make the daemon re-read it and\n"
		"            wait for its verdict (exit 1 with its reason if it kept the old)\n"
		"  check     validate the configuration; show daemon and kernel state\n"
		"  role active|standby|auto\n"
		"            firewall pairs: tell the daemon its role (auto: follow\n"
		"            active_when_address again); prints the role it is in\n"
		"  install   install and enable the systemd unit\n"
		"  help      this text\n"
		"  version   the version\n"
		"\n"
		"Exit status: 0 success, 1 runtime or configuration error, 2 usage error.\n",
		CONFIG_DEFAULT_PATH);
}

/* Writes one failing line of a report to stderr; stdout is flushed first so
 * that both keep their order when they go to the same file. */
__attribute__((format(printf, 1, 2)))
static void report_failure(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Makes the configuration path absolute, so that the daemon, which works
 * in /, and every reload read the file the command line named. A relative
 * path is joined to its directory, resolved when it exists; the last
 * component is kept as given, so that a symbolic link pointed elsewhere
 * later is followed at the next reload (an absolute path is kept whole
 * for the same reason). Returns NULL with errno set on failure. */
static const char *absolute_config(const char *path)
{
	static char abs[PATH_MAX];
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash, *base;
	int n;

	if (path[0] == '/' || path[0] == '\0')
		return path;
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (base[0] != '\0' && strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
		n = snprintf(dir, sizeof(dir), "%.*s",
			     slash != NULL ? (int)(slash - path) : 1,
			     slash != NULL ? path : ".");
		if (n >= 0 && (size_t)n < sizeof(dir) &&
		    realpath(dir, real) != NULL) {
			n = snprintf(abs, sizeof(abs), "%s/%s",
				     strcmp(real, "/") == 0 ? "" : real, base);
			if (n >= 0 && (size_t)n < sizeof(abs))
				return abs;
			errno = ENAMETOOLONG;
			return NULL;
		}
	} else if (realpath(path, abs) != NULL) {
		return abs;
	}
	/* The directory does not exist (yet): keep the name for messages. */
	if (getcwd(dir, sizeof(dir)) == NULL)
		return NULL;
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (path[0] == '/')
			path++;
	}
	n = snprintf(abs, sizeof(abs), "%s/%s",
		     strcmp(dir, "/") == 0 ? "" : dir, path);
	if (n < 0 || (size_t)n >= sizeof(abs)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return abs;
}

static int cmd_version(void)
{
	printf("nfflowd %s\n", NFFLOWD_VERSION);
	return 0;
}

static int load_config(const struct opts *o, struct config *cfg)
{
	char err[CONFIG_ERR_MAX];

	if (config_load(o->config, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfflowd: %s\n", err);
		return -1;
	}
	return 0;
}

/* Forks twice so the daemon is no session leader and not our child; waits
 * on a pipe until it is ready, so that start's exit code tells the truth. */
static int start_detached(const struct opts *o, const struct config *cfg)
{
	int fds[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "nfflowd: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "nfflowd: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (setsid() < 0)
			_exit(1);
		pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		umask(022);
		if (chdir("/") < 0)
			_exit(1);
		log_init(cfg->syslog_ident, true, true);
		_exit(daemon_run(o->config, cfg, fds[1]));
	}
	close(fds[1]);
	do {
		n = read(fds[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n != 1) {
		pid_t holder = pidfile_running(cfg->pidfile);

		if (holder > 0) {
			printf("nfflowd is already running (pid %ld)\n", (long)holder);
			return 0;
		}
		fprintf(stderr, "nfflowd: the daemon did not start (see the messages above or the system log)\n");
		return 1;
	}
	printf("nfflowd started (pid %ld)\n", (long)pidfile_running(cfg->pidfile));
	return 0;
}

/* The daemon of the file: the one its pidfile names, else one that says
 * it runs with this file (a file whose new pidfile the daemon moves to only
 * at its next reload); *by_config tells which. 0 when none, -1 with errno
 * when the pidfile cannot be read. */
static pid_t running_daemon(const struct opts *o, const struct config *cfg,
			    bool *by_config)
{
	pid_t pid = pidfile_running(cfg->pidfile);

	*by_config = false;
	if (pid != 0)
		return pid;
	pid = dumpstate_find_daemon(o->config);
	if (pid > 0) {
		*by_config = true;
		fprintf(stderr, "nfflowd: pidfile %s names no daemon, but nfflowd (pid %ld) runs with %s: using it\n",
			cfg->pidfile, (long)pid, o->config);
	}
	return pid;
}

static int cmd_start(const struct opts *o)
{
	struct config cfg;
	bool by_config;
	pid_t pid;

	if (load_config(o, &cfg) < 0)
		return 1;
	pid = running_daemon(o, &cfg, &by_config);
	if (pid > 0) {
		printf("nfflowd is already running (pid %ld)\n", (long)pid);
		return 0;
	}
	if (o->foreground) {
		log_init(cfg.syslog_ident, true, false);
		return daemon_run(o->config, &cfg, -1);
	}
	return start_detached(o, &cfg);
}

/* The pidfile and control socket of the config, even when the file has
 * since become invalid. */
static void runtime_paths(const struct opts *o, struct config *cfg)
{
	char err[CONFIG_ERR_MAX];

	if (config_load(o->config, cfg, err, sizeof(err)) == 0)
		return;
	config_defaults(cfg);
	if (config_load_paths(o->config, cfg) == 0)
		fprintf(stderr, "nfflowd: %s\nnfflowd: using pidfile %s and control socket %s from it anyway\n",
			err, cfg->pidfile, cfg->control_socket);
	else
		fprintf(stderr, "nfflowd: %s\nnfflowd: using the default pidfile %s and control socket %s\n",
			err, cfg->pidfile, cfg->control_socket);
}

static int cmd_stop(const struct opts *o)
{
	struct config cfg;
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	bool by_config;
	pid_t pid;
	int i;

	runtime_paths(o, &cfg);
	pid = running_daemon(o, &cfg, &by_config);
	if (pid < 0) {
		fprintf(stderr, "nfflowd: pidfile %s: %s\n", cfg.pidfile, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		printf("nfflowd is not running\n");
		return 0;
	}
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		fprintf(stderr, "nfflowd: cannot signal pid %ld: %s\n", (long)pid,
			strerror(errno));
		return 1;
	}
	for (i = 0; i < STOP_WAIT_SECONDS * 20; i++) {
		if (by_config ? kill(pid, 0) < 0 : pidfile_running(cfg.pidfile) != pid) {
			printf("nfflowd stopped (pid %ld)\n", (long)pid);
			return 0;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "nfflowd: pid %ld did not stop within %d s\n", (long)pid,
		STOP_WAIT_SECONDS);
	return 1;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The daemon's reload counters from the control socket of the file, or
 * else from old, the one it listened on before the reload (a reload that
 * moves the control socket closes that one). */
static int read_reloads(const struct config *cfg, const char *old,
			struct dumpstate_reloads *r)
{
	int saved;

	if (dumpstate_reloads(cfg->control_socket, r) == 0)
		return 0;
	saved = errno;
	if (old[0] != '\0' && dumpstate_reloads(old, r) == 0)
		return 0;
	errno = saved;
	return -1;
}

/* After SIGHUP: polls the daemon's reload counters until one of them has
 * grown past before, and reports the verdict. Returns the exit status. */
static int await_reload(const struct opts *o, const struct config *cfg,
			const char *old, pid_t pid,
			const struct dumpstate_reloads *before)
{
	struct timespec pause = { 0, RELOAD_POLL_MS * 1000000L };
	uint64_t deadline = monotonic_ms() + RELOAD_WAIT_SECONDS * 1000u;
	struct dumpstate_reloads now;
	int last_errno = 0;

	for (;;) {
		nanosleep(&pause, NULL);
		if (read_reloads(cfg, old, &now) == 0) {
			if (now.ok > before->ok) {
				printf("nfflowd (pid %ld) reloaded %s\n",
				       (long)pid, o->config);
				return 0;
			}
			if (now.failed > before->failed) {
				fflush(stdout);
				fprintf(stderr, "nfflowd: the daemon kept its running configuration: ");
				if (now.error[0] != '\0')
					dumpstate_put_text(stderr, now.error);
				else
					fprintf(stderr, "it gave no reason (see the system log)");
				fputc('\n', stderr);
				return 1;
			}
		} else {
			last_errno = errno;
			if (kill(pid, 0) < 0 && errno == ESRCH) {
				fprintf(stderr, "nfflowd: nfflowd (pid %ld) exited during the reload (see the system log)\n",
					(long)pid);
				return 1;
			}
		}
		if (monotonic_ms() >= deadline)
			break;
	}
	fprintf(stderr, "nfflowd: no verdict from nfflowd (pid %ld) on %s within %d s%s%s; see the system log\n",
		(long)pid, cfg->control_socket, RELOAD_WAIT_SECONDS,
		last_errno ? ": " : "", last_errno ? strerror(last_errno) : "");
	return 1;
}

/* Validates the file, signals the daemon and waits for its verdict: exit
 * 0 only when the daemon took the new configuration. */
static int cmd_reload(const struct opts *o)
{
	char old[CONFIG_SOCKET_PATH_MAX] = "";
	struct dumpstate_reloads before;
	struct config cfg;
	bool by_config;
	pid_t pid;
	int err;

	if (load_config(o, &cfg) < 0)
		return 1;
	pid = running_daemon(o, &cfg, &by_config);
	if (pid < 0) {
		fprintf(stderr, "nfflowd: pidfile %s: %s; nothing was signalled\n",
			cfg.pidfile, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		fprintf(stderr, "nfflowd: not running (pidfile %s); nothing to reload\n",
			cfg.pidfile);
		return 1;
	}
	/* Without the counters before the signal no verdict can be told
	 * apart, so nothing is signalled then. A file that moves the control
	 * socket names one the daemon does not listen on yet: its own is
	 * looked up. */
	if (dumpstate_reloads(cfg.control_socket, &before) < 0) {
		err = errno;
		if (dumpstate_find_socket(pid, old, sizeof(old)) < 0 ||
		    strcmp(old, cfg.control_socket) == 0 ||
		    dumpstate_reloads(old, &before) < 0) {
			fprintf(stderr, "nfflowd: no answer from nfflowd (pid %ld) on control socket %s: %s; nothing was signalled\n",
				(long)pid, cfg.control_socket,
				err == EPROTO ? "not a counters reply" : strerror(err));
			return 1;
		}
	}
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "nfflowd: cannot signal pid %ld: %s\n", (long)pid,
			strerror(errno));
		return 1;
	}
	return await_reload(o, &cfg, old, pid, &before);
}

/* One kernel prerequisite: its value and what to do when it is not 1. A
 * setting that is 1, or that nfflowd switches on itself at start (can_set),
 * is reported on stdout, any other on stderr. Returns true if the setting
 * could be read, is not 1 and nfflowd cannot set it. */
static bool check_kernel(const char *name, const char *what, bool setup,
			 bool can_set)
{
	int v = kernel_get(name);
	const char *state;

	if (v < 0) {
		report_failure("kernel: net.netfilter.%s unavailable (%s): run 'modprobe nf_conntrack'\n",
			       name, strerror(errno));
		return false;
	}
	if (v == 1) {
		printf("kernel: net.netfilter.%s = %d (%s)\n", name, v, what);
		return false;
	}
	state = v == 0 ? ": off" : ": only while a listener exists";
	if (can_set) {
		printf("kernel: net.netfilter.%s = %d (%s%s)\n"
		       "        nfflowd sets it to 1 at start (kernel_setup)\n",
		       name, v, what, state);
		return false;
	}
	report_failure("kernel: net.netfilter.%s = %d (%s%s)\n"
		       "        to fix: sysctl -w net.netfilter.%s=1 (%s)\n",
		       name, v, what, state, name,
		       setup ? "nfflowd cannot write it here" : "kernel_setup is off");
	return true;
}

/* The setting is off for good: every record would be wrong (no counters,
 * no kernel times) or missing (events 0). Events 2, "while a listener
 * exists", works while the daemon runs: reported, not fatal. */
static bool kernel_fatal(const char *name)
{
	int v = kernel_get(name);

	return v == 0 || (v > 1 && strcmp(name, KERNEL_EVENTS) != 0);
}

/* CAP_NET_ADMIN (bit 12) in the effective set, from /proc/self/status. */
static bool has_net_admin(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 12) & 1;
}

/* The capability, and with kernel_setup the write access to the kernel
 * settings (write_errno, 0 when writable; ENOENT is the missing module the
 * kernel lines report); no write access is a failure only when a setting
 * is off (kernel_off). */
static void check_privileges(const struct config *cfg, int write_errno,
			     bool kernel_off)
{
	if (has_net_admin())
		printf("privileges: CAP_NET_ADMIN present (conntrack events, netlink buffer)\n");
	else
		report_failure("privileges: CAP_NET_ADMIN missing: nfflowd cannot subscribe to conntrack events; run it as root or with that capability (the packaged unit grants it)\n");
	if (!cfg->kernel_setup || write_errno == 0 || write_errno == ENOENT)
		return;
	if (kernel_off)
		report_failure("privileges: cannot write /proc/sys/net/netfilter (%s): set the kernel settings above to 1 yourself and \"kernel_setup\": false\n",
			       strerror(write_errno));
	else
		printf("privileges: cannot write /proc/sys/net/netfilter (%s): no matter while the kernel settings above are 1\n",
		       strerror(write_errno));
}

/* Validates the config and reports on it, the daemon, the kernel settings
 * and the privileges: what is fine on stdout, each failure on stderr. */
static int cmd_check(const struct opts *o)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	bool ok, can_set, kernel_off = false;
	int write_errno = 0;
	pid_t pid;

	ok = config_load(o->config, &cfg, err, sizeof(err)) == 0;
	if (ok) {
		unsigned i;

		printf("config: %s OK (export from %s to %s port %u)\n", o->config,
		       cfg.source_str, cfg.collector_str, cfg.port);
		for (i = 0; cfg.ncollectors > 1 && i < cfg.ncollectors; i++) {
			const struct config_collector *c = &cfg.collectors[i];

			char desc[96];

			printf("collector %u: %s port %u from %s, %s\n", i + 1,
			       c->collector_str, c->port, c->source_str,
			       config_collector_desc(c, desc, sizeof(desc)));
		}
		for (i = 0; i < cfg.ncollectors; i++) {
			if (cfg.collectors[i].version == 5)
				continue;
			printf("observation domain: %" PRIu32 "%s\n",
			       export_domain(&cfg), cfg.observation_domain ? "" :
			       " (derived from the machine id)");
			break;
		}
	} else {
		report_failure("config: %s\n", err);
		config_defaults(&cfg);
		config_load_paths(o->config, &cfg);
	}
	pid = pidfile_running(cfg.pidfile);
	if (pid > 0) {
		char *counters = NULL;

		printf("daemon: running (pid %ld)\n", (long)pid);
		if (dumpstate_counters(cfg.control_socket, &counters) == 0)
			printf("daemon: %s\n", counters);
		else
			report_failure("daemon: no answer on control socket %s\n",
				       cfg.control_socket);
		free(counters);
	} else if (pid < 0) {
		report_failure("daemon: unknown: pidfile %s: %s\n", cfg.pidfile,
			       strerror(errno));
	} else {
		printf("daemon: not running\n");
	}
	if (cfg.kernel_setup &&
	    access("/proc/sys/net/netfilter/" KERNEL_ACCT, W_OK) != 0)
		write_errno = errno;
	can_set = cfg.kernel_setup && write_errno == 0;
	kernel_off |= check_kernel(KERNEL_ACCT, "packet and byte counters",
				   cfg.kernel_setup, can_set);
	kernel_off |= check_kernel(KERNEL_TIMESTAMP, "connection start/stop timestamps",
				   cfg.kernel_setup, can_set);
	kernel_off |= check_kernel(KERNEL_EVENTS, "conntrack events for every connection",
				   cfg.kernel_setup, can_set);
	check_privileges(&cfg, write_errno, kernel_off);
	if (kernel_off && !can_set &&
	    (kernel_fatal(KERNEL_ACCT) || kernel_fatal(KERNEL_TIMESTAMP) ||
	     kernel_fatal(KERNEL_EVENTS))) {
		report_failure("check: failed: with the kernel settings above every record would lack counters, times or connections\n");
		return 1;
	}
	return ok ? 0 : 1;
}

/* `role active|standby|auto`: tells the running daemon which role it has
 * in a firewall pair (for an HA manager's notify scripts), and prints the
 * role it is in then. */
static int cmd_role(const struct opts *o, const char *what)
{
	struct config cfg;
	char req[32], *line = NULL;
	json_t *obj;
	const char *role;
	unsigned tries;

	if (strcmp(what, "active") != 0 && strcmp(what, "standby") != 0 &&
	    strcmp(what, "auto") != 0) {
		fprintf(stderr, "nfflowd: role takes active, standby or auto, not '%s'\n",
			what);
		return EXIT_USAGE;
	}
	config_defaults(&cfg);
	(void)config_load_paths(o->config, &cfg);
	snprintf(req, sizeof(req), "role %s\n", what);
	if (dumpstate_request(cfg.control_socket, req, &line) < 0) {
		fprintf(stderr, "nfflowd: no daemon answers on %s: %s\n",
			cfg.control_socket, strerror(errno));
		return 1;
	}
	/* a handover (going standby) takes a table dump: wait for its end,
	 * at most a minute */
	for (tries = 0;; tries++) {
		obj = json_loads(line, 0, NULL);
		role = obj ? json_string_value(json_object_get(obj, "role")) : NULL;
		if (role == NULL || strcmp(role, "handover") != 0 || tries == 600)
			break;
		json_decref(obj);
		free(line);
		line = NULL;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		if (dumpstate_counters(cfg.control_socket, &line) < 0) {
			fprintf(stderr, "nfflowd: the daemon stopped answering on %s: %s\n",
				cfg.control_socket, strerror(errno));
			return 1;
		}
	}
	printf("role: %s\n", role ? role : "unknown");
	json_decref(obj);
	free(line);
	return role ? 0 : 1;
}

static int cmd_dump_state(const struct opts *o)
{
	struct config cfg;

	runtime_paths(o, &cfg);
	if (o->prometheus)
		return dumpstate_metrics(cfg.control_socket, stdout);
	return dumpstate_run(cfg.control_socket, o->json, stdout);
}

int main(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_JSON, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "dump-state", no_argument, NULL, OPT_DUMP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .config = CONFIG_DEFAULT_PATH };
	const char *cmd;
	int c;

	log_init("nfflowd", true, false);
	while ((c = getopt_long(argc, argv, "c:fhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'f': o.foreground = true; break;
		case OPT_DUMP: o.dump_state = true; break;
		case OPT_JSON: o.json = true; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0) {
				o.json = true;
			} else if (strcmp(optarg, "prometheus") == 0) {
				o.prometheus = true;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "nfflowd: --format is text, json or prometheus, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			o.format_set = true;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': return cmd_version();
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	o.config = absolute_config(o.config);
	if (o.config == NULL) {
		fprintf(stderr, "nfflowd: cannot make the configuration path absolute: %s\n",
			strerror(errno));
		return 1;
	}
	if (o.dump_state) {
		if (optind != argc) {
			fprintf(stderr, "nfflowd: --dump-state takes no command\n");
			return EXIT_USAGE;
		}
		return cmd_dump_state(&o);
	}
	if (o.json || o.format_set) {
		fprintf(stderr, "nfflowd: --json and --format go with --dump-state\n");
		return EXIT_USAGE;
	}
	if (optind + 2 == argc && strcmp(argv[optind], "role") == 0) {
		if (o.foreground) {
			fprintf(stderr, "nfflowd: -f goes with start or restart\n");
			return EXIT_USAGE;
		}
		return cmd_role(&o, argv[optind + 1]);
	}
	if (optind + 1 != argc) {
		fprintf(stderr, optind == argc ? "nfflowd: no command given\n"
					       : "nfflowd: one command at a time\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "role") == 0) {
		fprintf(stderr, "nfflowd: role takes active, standby or auto\n");
		return EXIT_USAGE;
	}
	if (o.foreground && strcmp(cmd, "start") != 0 && strcmp(cmd, "restart") != 0) {
		fprintf(stderr, "nfflowd: -f goes with start or restart\n");
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "start") == 0)
		return cmd_start(&o);
	if (strcmp(cmd, "stop") == 0)
		return cmd_stop(&o);
	if (strcmp(cmd, "restart") == 0) {
		int rc = cmd_stop(&o);

		return rc != 0 ? rc : cmd_start(&o);
	}
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(&o);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(&o);
	if (strcmp(cmd, "install") == 0)
		return install_run(o.config, stdout);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0)
		return cmd_version();
	fprintf(stderr, "nfflowd: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
