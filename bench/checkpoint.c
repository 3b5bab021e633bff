/* What a checkpoint of the state file costs with many long-lived
 * connections: a pipeline holds ENTRIES connections (a share of them IPv6),
 * each with an export state as after an interim export (inserted with
 * pipeline_event, read with pipeline_due, exported with pipeline_interim
 * under an active timeout), and the state file is written as the daemon
 * writes it (src/daemon.c put_checkpoint: state_begin, state_put of
 * pipeline_state_rec for every entry with exports > 0, state_commit with its
 * fsync, rename and fsync of the directory), into a directory on disk.
 *
 * Each run measures:
 *   - fork: the time fork() takes in this process (all that the event loop
 *     pays for a checkpoint: the daemon forks and goes on), and the forked
 *     child's time to encode and write the file, with fsync and without;
 *   - sync: the same file written by this process itself, no fork: what
 *     the event loop would stall for without the fork;
 *   - copy on write, worst case: one pass of pipeline_interim over every
 *     entry (each export state rewritten) while a child holds the pages,
 *     against the same pass with no child; the difference is the cost of
 *     the pages the kernel copies, spread over the child's life.
 * The file is synced out (sync()) between measurements, untimed. At the
 * end the last file is read back with state_read, as a start reads it
 * (whole, checked), and its record count compared with what was written.
 * "Without fsync" uses the same writer with fsync() replaced by a no-op
 * (below); everything else is the daemon's code.
 *
 * Prints one line per run and a summary line (medians and maxima), as
 * key=value pairs.
 *
 * usage: checkpoint [-n ENTRIES] [-6 PERCENT] [-r RUNS] [-d DIR]
 *   -n  connections in the table (default 250000)
 *   -6  share of them that is IPv6, in percent (default 10)
 *   -r  runs (default 5)
 *   -d  existing directory for the state file (default: a new directory
 *       under /var/tmp, which is on disk, removed at the end) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nfflowd/clock.h"
#include "nfflowd/config.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/pipeline.h"
#include "nfflowd/state.h"
#include "nfflowd/statefile.h"
#include "nfflowd/types.h"

#include "ctgen.h"

#define MAX_RUNS 50
#define MAX_ENTRIES 20000000u
#define DUE_BATCH 4096
#define BASE_REAL_NS (1700000000ull * 1000000000u)
/* The table's "now": two hours after the first connection began, on a
 * boot clock that has run for longer than that. */
#define NOW_REAL_NS (BASE_REAL_NS + 7200ull * 1000000000u)
#define NOW_BOOT_NS (100000ull * 1000000000u)

/* fsync() as state.c calls it: the real one, or nothing (skip_fsync). A
 * definition in the program takes the place of libc's for state.c. */
static bool skip_fsync;

int fsync(int fd)
{
	if (skip_fsync)
		return 0;
	return (int)syscall(SYS_fsync, fd);
}

/* One field of /proc/self/status in KiB (VmRSS, VmHWM, VmPTE), or 0. */
static uint64_t status_kib(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The transparent huge page mode in force ("always", "madvise", "never"). */
static void thp_mode(char *out, size_t len)
{
	char line[128], *a, *b;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	snprintf(out, len, "?");
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL && (a = strchr(line, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(out, len, "%s", a + 1);
	}
	fclose(f);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* The event of connection i: ctgen's connection, every ipv6_pct-th in a
 * hundred turned into IPv6 (2001:db8:: with the IPv4 addresses, no NAT),
 * as a NEW (reading false) or as a reading of its counters, which have
 * grown by bump packets in each direction since ctgen's values. */
static void conn_event(uint32_t i, unsigned ipv6_pct, bool reading,
		       uint64_t bump, struct ct_event *ev)
{
	struct ctgen_conn c;

	ctgen_conn(i, BASE_REAL_NS, &c);
	memset(ev, 0, sizeof(*ev));
	ev->type = reading ? CT_EVENT_UPDATE : CT_EVENT_NEW;
	ev->id = c.id;
	ev->family = AF_INET;
	ev->proto = c.proto;
	ev->tcp_state = c.proto == IPPROTO_TCP ? 3 : 0;	/* ESTABLISHED */
	ev->status = 0xe;	/* SEEN_REPLY | ASSURED | CONFIRMED */
	ev->orig = c.orig;
	ev->reply = c.reply;
	ev->has_start = true;
	ev->start_ns = c.start_ns;
	if (i % 100 < ipv6_pct) {
		uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		ev->family = AF_INET6;
		if (ev->proto == IPPROTO_ICMP)
			ev->proto = IPPROTO_ICMPV6;
		memcpy(a + 12, &c.orig.src, 4);
		memcpy(ev->orig6.src, a, 16);
		memcpy(ev->reply6.dst, a, 16);
		memcpy(a + 12, &c.orig.dst, 4);
		memcpy(ev->orig6.dst, a, 16);
		memcpy(ev->reply6.src, a, 16);
		ev->orig.src = ev->orig.dst = ev->reply.src = ev->reply.dst = 0;
		if (ev->proto == IPPROTO_ICMPV6) {
			ev->orig.dport = 128 << 8;	/* echo request */
			ev->reply.dport = 129 << 8;	/* echo reply */
		} else {
			ev->reply.dport = ev->orig.sport;	/* no NAT */
		}
	}
	if (reading) {
		ev->has_counters = true;
		ev->orig_packets = c.orig_packets + bump;
		ev->orig_bytes = c.orig_bytes + bump * 100;
		ev->reply_packets = c.reply_packets + bump;
		ev->reply_bytes = c.reply_bytes + bump * 100;
	}
}

static void emit_none(const struct flow_conn *c, void *arg)
{
	(void)c;
	(*(uint64_t *)arg)++;
}

/* What writing one state file took. */
struct write_res {
	uint64_t encode_ns;	/* state_begin and every state_put */
	uint64_t commit_ns;	/* state_commit: flush, fsync, rename, dir fsync */
	uint64_t total_ns;
	uint64_t bytes;
	uint64_t records;
	int ok;
	char err[200];
};

/* Writes the state file as the daemon's checkpoint does (put_checkpoint). */
static void write_state(const struct pipeline *p, const char *path,
			struct write_res *r)
{
	struct state_out o;
	struct time_pair now;
	size_t cursor = 0;
	const struct flow_entry *e;
	struct statefile_rec rec;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), t1;

	memset(r, 0, sizeof(*r));
	now.real_ns = clock_ns(CLOCK_REALTIME);
	now.boot_ns = clock_ns(CLOCK_BOOTTIME);
	if (state_begin(&o, path, 0, &now, r->err, sizeof(r->err)) < 0)
		return;
	while ((e = flowtab_next(p->tab, &cursor)) != NULL) {
		const struct flow_active *a = flowtab_active(p->tab, e);

		if (a == NULL || a->exports == 0)
			continue;
		pipeline_state_rec(p, e, &rec);
		state_put(&o, &rec);
		r->records++;
	}
	t1 = clock_ns(CLOCK_MONOTONIC);
	r->encode_ns = t1 - t0;
	r->ok = state_commit(&o, r->err, sizeof(r->err)) == 0;
	r->bytes = o.bytes;
	r->total_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	r->commit_ns = r->total_ns - r->encode_ns;
}

/* Forks a child that writes the state file and reports to the parent;
 * returns the time fork() took in the parent (0 when it failed). */
static uint64_t forked_write(const struct pipeline *p, const char *path,
			     struct write_res *r)
{
	int fds[2];
	pid_t pid;
	uint64_t t0, t1;
	ssize_t got;
	int status;

	memset(r, 0, sizeof(*r));
	if (pipe(fds) < 0)
		return 0;
	fflush(NULL);
	t0 = clock_ns(CLOCK_MONOTONIC);
	pid = fork();
	t1 = clock_ns(CLOCK_MONOTONIC);
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		struct write_res cr;

		close(fds[0]);
		write_state(p, path, &cr);
		_exit(write(fds[1], &cr, sizeof(cr)) == (ssize_t)sizeof(cr) &&
		      cr.ok ? 0 : 1);
	}
	close(fds[1]);
	do
		got = read(fds[0], r, sizeof(*r));
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(*r) || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		r->ok = 0;
	return t1 - t0;
}

/* One pass of counter readings over every entry (each becomes an interim
 * export, rewriting its export state). Returns its time. */
static uint64_t interim_pass(struct pipeline *p, uint32_t n, unsigned ipv6_pct,
			     uint64_t bump, const struct time_pair *now)
{
	struct ct_event ev;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	uint32_t i;

	for (i = 0; i < n; i++) {
		conn_event(i, ipv6_pct, true, bump, &ev);
		pipeline_interim(p, &ev, now);
	}
	return clock_ns(CLOCK_MONOTONIC) - t0;
}

/* This process's minor page faults and CPU time (user + system, ns). */
static void usage_now(uint64_t *minflt, uint64_t *cpu_ns)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*minflt = (uint64_t)ru.ru_minflt;
	*cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
			  1000000000u +
		  ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median (the lower middle one for an even count) and the maximum. */
static void stats(const uint64_t *v, int n, uint64_t *med, uint64_t *max)
{
	uint64_t s[3 * MAX_RUNS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	*med = s[(n - 1) / 2];
	*max = s[n - 1];
}

enum { M_FORK, M_CHILD, M_CHILD_COMMIT, M_CHILD_NOFSYNC, M_SYNC, M_SYNC_NOFSYNC,
       M_COW_BASE, M_COW_CHILD, M_COW_BASE_CPU, M_COW_CHILD_CPU,
       M_COW_BASE_FAULTS, M_COW_FAULTS, M_N };

/* Names in the output; the last two are counts, the others times. */
#define M_TIMES M_COW_BASE_FAULTS
static const char *const mname[M_N] = {
	"fork_ms", "child_fsync_ms", "child_commit_ms", "child_nofsync_ms",
	"sync_fsync_ms", "sync_nofsync_ms", "cow_pass_alone_ms",
	"cow_pass_with_child_ms", "cow_pass_alone_cpu_ms",
	"cow_pass_with_child_cpu_ms", "cow_faults_alone", "cow_faults",
};

int main(int argc, char **argv)
{
	uint32_t n = 250000, i;
	unsigned ipv6_pct = 10;
	int runs = 5, opt, run, k;
	const char *dir_opt = NULL;
	char dir[256], path[300], thp[32];
	struct pipeline p;
	struct config cfg;
	struct ct_event ev;
	struct ct_query *q;
	struct time_pair now = { NOW_REAL_NS, NOW_BOOT_NS };
	struct write_res wr;
	uint64_t exports = 0, t0, build_ns, due = 0, bump = 0;
	uint64_t v[M_N][MAX_RUNS], med[M_N], max[M_N], bytes = 0, records = 0;
	uint64_t cow_cpu, rss0 = status_kib("VmRSS");
	uint64_t nipv6 = 0, forks[3 * MAX_RUNS], fork_med, fork_max;
	int nforks = 0;
	size_t got, calls;
	const char *failed = NULL;	/* what went wrong */
	char rerr[200] = "";
	long read_back = 0;
	uint64_t read_ns = 0;

	while ((opt = getopt(argc, argv, "n:6:r:d:")) != -1) {
		switch (opt) {
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case '6':
			ipv6_pct = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'd':
			dir_opt = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || n == 0 || n > MAX_ENTRIES || ipv6_pct > 100 ||
	    runs < 1 || runs > MAX_RUNS)
		goto usage;

	/* the table: NEW events, the active timeout's readings, interim
	 * exports, as in a daemon that has run for two hours */
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (pipeline_init(&p, 0, emit_none, &exports) < 0)
		return 1;
	config_defaults(&cfg);
	cfg.active_timeout = CONFIG_DEFAULT_ACTIVE_TIMEOUT;
	pipeline_configure(&p, &cfg);
	for (i = 0; i < n; i++) {
		conn_event(i, ipv6_pct, false, 0, &ev);
		pipeline_event(&p, &ev, &now, false);
		nipv6 += ev.family == AF_INET6;
	}
	q = malloc(DUE_BATCH * sizeof(*q));
	if (q == NULL)
		return 1;
	/* every entry is due: the scan finds them all (an eighth of the
	 * table per call at least), each once */
	for (calls = 0; calls < (size_t)n / 1024 + 64; calls++) {
		got = pipeline_due(&p, now.boot_ns, q, DUE_BATCH);
		if (got == 0)
			break;
		due += got;
	}
	free(q);
	interim_pass(&p, n, ipv6_pct, bump, &now);
	build_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	if (flowtab_count(p.tab) != n || exports != n) {
		fprintf(stderr, "checkpoint: table has %zu entries, %" PRIu64
			" interim exports, of %" PRIu32 "\n",
			flowtab_count(p.tab), exports, n);
		return 1;
	}

	if (dir_opt != NULL) {
		struct stat st;

		if (stat(dir_opt, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "checkpoint: %s: not a directory\n", dir_opt);
			return 2;
		}
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	} else {
		snprintf(dir, sizeof(dir), "/var/tmp/nfflowd-bench-ckpt.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/nfflowd.state", dir);
	thp_mode(thp, sizeof(thp));
	printf("checkpoint entries=%" PRIu32 " ipv6=%" PRIu64 " due=%" PRIu64
	       " interim_exports=%" PRIu64 " build_s=%.2f rss_kib=%" PRIu64
	       " rss_before_kib=%" PRIu64 " vmpte_kib=%" PRIu64
	       " flowtab_memory=%zu thp=%s dir=%s\n",
	       n, nipv6, due, exports, (double)build_ns / 1e9,
	       status_kib("VmRSS"), rss0, status_kib("VmPTE"),
	       flowtab_memory(p.tab), thp, dir);

	sync();
	for (run = 0; run < runs && failed == NULL; run++) {
		uint64_t fork_ns, f0, f1, c0, c1;
		int fds[2];
		pid_t pid;
		int status;

		/* forked, with fsync: what the daemon does */
		skip_fsync = false;
		fork_ns = forked_write(&p, path, &wr);
		if (!wr.ok)
			failed = wr.err[0] ? wr.err : "forked writer failed";
		v[M_FORK][run] = fork_ns;
		forks[nforks++] = fork_ns;
		v[M_CHILD][run] = wr.total_ns;
		v[M_CHILD_COMMIT][run] = wr.commit_ns;
		bytes = wr.bytes;
		records = wr.records;
		sync();
		/* forked, without fsync */
		skip_fsync = true;
		fork_ns = forked_write(&p, path, &wr);
		if (!wr.ok)
			failed = wr.err[0] ? wr.err : "forked writer failed";
		v[M_CHILD_NOFSYNC][run] = wr.total_ns;
		forks[nforks++] = fork_ns;
		sync();
		/* in the loop's own process */
		skip_fsync = false;
		write_state(&p, path, &wr);
		if (!wr.ok)
			failed = wr.err;
		v[M_SYNC][run] = wr.total_ns;
		sync();
		skip_fsync = true;
		write_state(&p, path, &wr);
		if (!wr.ok)
			failed = wr.err;
		v[M_SYNC_NOFSYNC][run] = wr.total_ns;
		skip_fsync = false;
		sync();
		/* copy on write: a pass over every export state, alone and
		 * while a child holds the pages (it waits for the pipe). The
		 * untimed pass first takes the faults that make the pages
		 * writable again after the children above (no copy). */
		interim_pass(&p, n, ipv6_pct, ++bump, &now);
		usage_now(&f0, &c0);
		v[M_COW_BASE][run] = interim_pass(&p, n, ipv6_pct, ++bump, &now);
		usage_now(&f1, &c1);
		v[M_COW_BASE_FAULTS][run] = f1 - f0;
		v[M_COW_BASE_CPU][run] = c1 - c0;
		if (failed != NULL)
			break;
		if (pipe(fds) < 0) {
			failed = "pipe failed";
			break;
		}
		fflush(NULL);
		t0 = clock_ns(CLOCK_MONOTONIC);
		pid = fork();
		forks[nforks++] = clock_ns(CLOCK_MONOTONIC) - t0;
		if (pid < 0) {
			close(fds[0]);
			close(fds[1]);
			failed = "fork failed";
			break;
		}
		if (pid == 0) {
			char c;

			close(fds[1]);
			while (read(fds[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		close(fds[0]);
		usage_now(&f0, &c0);
		v[M_COW_CHILD][run] = interim_pass(&p, n, ipv6_pct, ++bump, &now);
		usage_now(&f1, &c1);
		v[M_COW_FAULTS][run] = f1 - f0;
		v[M_COW_CHILD_CPU][run] = c1 - c0;
		close(fds[1]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (exports != n * (1 + 3 * (uint64_t)(run + 1)))
			failed = "an interim export went missing";

		printf("run=%d fork_ms=%.2f fork2_ms=%.2f fork3_ms=%.2f", run + 1,
		       ms(forks[nforks - 3]), ms(forks[nforks - 2]),
		       ms(forks[nforks - 1]));
		for (k = M_FORK + 1; k < M_N; k++)
			if (k >= M_TIMES)
				printf(" %s=%" PRIu64, mname[k], v[k][run]);
			else
				printf(" %s=%.2f", mname[k], ms(v[k][run]));
		printf(" bytes=%" PRIu64 " records=%" PRIu64 "\n", bytes, records);
	}
	/* the last file is whole and says what was written (state_read
	 * checks it all, as a start does, before handing out a record) */
	if (failed == NULL) {
		struct statefile_header h;

		t0 = clock_ns(CLOCK_MONOTONIC);
		read_back = state_read(path, NULL, NULL, &h, rerr, sizeof(rerr));
		read_ns = clock_ns(CLOCK_MONOTONIC) - t0;
		if (read_back < 0 || (uint64_t)read_back != records)
			failed = read_back < 0 ? rerr : "read back a wrong count";
	}
	if (dir_opt == NULL) {
		unlink(path);
		rmdir(dir);
	}
	if (failed != NULL) {
		fprintf(stderr, "checkpoint: %s\n", failed);
		pipeline_free(&p);
		return 1;
	}
	for (k = 0; k < M_N; k++)
		stats(v[k], runs, &med[k], &max[k]);
	stats(forks, nforks, &fork_med, &fork_max);
	printf("summary entries=%" PRIu32 " ipv6=%" PRIu64 " runs=%d records=%" PRIu64
	       " bytes=%" PRIu64 " bytes_per_conn=%.1f rss_kib=%" PRIu64
	       " vmpte_kib=%" PRIu64 " read_back=%ld read_ms=%.2f",
	       n, nipv6, runs, records, bytes, (double)bytes / records,
	       status_kib("VmRSS"), status_kib("VmPTE"), read_back, ms(read_ns));
	/* every fork of the runs (three per run) */
	printf(" forks=%d fork_median_ms=%.2f fork_max_ms=%.2f",
	       nforks, ms(fork_med), ms(fork_max));
	for (k = M_FORK + 1; k < M_N; k++)
		if (k >= M_TIMES)
			printf(" %s=%" PRIu64, mname[k], med[k]);
		else
			printf(" %.*s_median_ms=%.2f %.*s_max_ms=%.2f",
			       (int)strlen(mname[k]) - 3, mname[k], ms(med[k]),
			       (int)strlen(mname[k]) - 3, mname[k], ms(max[k]));
	/* the copies' cost from the CPU time (less noisy than wall time on
	 * a shared machine): with a child minus alone, per copied page */
	cow_cpu = med[M_COW_CHILD_CPU] > med[M_COW_BASE_CPU] ?
		  med[M_COW_CHILD_CPU] - med[M_COW_BASE_CPU] : 0;
	printf(" sync_stall_per_fork=%.0f cow_extra_cpu_ms=%.2f"
	       " cow_us_per_page=%.2f cow_copied_kib=%" PRIu64
	       " child_write_mb_per_s=%.0f\n",
	       (double)med[M_SYNC] / (double)(fork_med ? fork_med : 1),
	       ms(cow_cpu), med[M_COW_FAULTS] ? (double)cow_cpu / 1e3 /
			(double)med[M_COW_FAULTS] : 0.0,
	       med[M_COW_FAULTS] * (uint64_t)sysconf(_SC_PAGESIZE) / 1024,
	       med[M_CHILD] ? (double)bytes / 1e6 / ((double)med[M_CHILD] / 1e9) : 0.0);
	pipeline_free(&p);
	return 0;
usage:
	fprintf(stderr, "usage: checkpoint [-n ENTRIES] [-6 PERCENT] [-r RUNS] [-d DIR]\n");
	return 2;
}
