/* The state file on disk: atomic writes, whole-file reads. */
#include "nfflowd/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define STATE_READ_MAX (1u << 30)	/* refuses a file larger than 1 GiB */

/* Hex digit value, or -1. */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void state_boot_id(uint8_t id[16])
{
	char line[64];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t i, n = 0;

	memset(id, 0, 16);
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL)
		for (i = 0; line[i] && n < 32; i++) {
			int v = hexval((unsigned char)line[i]);

			if (v < 0)
				continue;
			id[n / 2] = (uint8_t)(id[n / 2] << 4 | v);
			n++;
		}
	fclose(f);
	if (n != 32)
		memset(id, 0, 16);
}

uint64_t state_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* Creates the directory of path if it is missing (one level). */
static void make_dir(const char *path)
{
	char dir[300];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	(void)mkdir(dir, 0750);
}

/* Writes n bytes, remembering the first error. */
static void out_write(struct state_out *o, const void *buf, size_t n)
{
	if (o->failed)
		return;
	if (fwrite(buf, 1, n, o->f) != n) {
		o->failed = true;
		o->err = errno ? errno : EIO;
		return;
	}
	o->bytes += n;
}

int state_begin(struct state_out *o, const char *path, uint32_t flags,
		const struct time_pair *now, char *err, size_t errlen)
{
	struct statefile_header h;
	uint8_t buf[STATEFILE_HEADER_SIZE];
	int fd;

	memset(o, 0, sizeof(*o));
	if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path)) {
		snprintf(err, errlen, "state file %s: name too long", path);
		return -1;
	}
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp", path);
	make_dir(path);
	fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "state file %s: %s", o->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.version = STATEFILE_VERSION;
	h.flags = flags;
	state_boot_id(h.boot_id);
	h.netns = state_netns();
	h.written_real_ns = now->real_ns;
	h.written_boot_ns = now->boot_ns;
	out_write(o, buf, statefile_begin(&o->w, buf, &h));
	return 0;
}

void state_put(struct state_out *o, const struct statefile_rec *r)
{
	uint8_t buf[STATEFILE_REC_MAX];

	out_write(o, buf, statefile_put(&o->w, buf, r));
}

int state_commit(struct state_out *o, char *err, size_t errlen)
{
	uint8_t buf[STATEFILE_TRAILER_SIZE];
	char dir[300], *slash;
	int dfd;

	out_write(o, buf, statefile_end(&o->w, buf));
	if (!o->failed && fflush(o->f) != 0) {
		o->failed = true;
		o->err = errno;
	}
	if (!o->failed && fsync(fileno(o->f)) != 0) {
		o->failed = true;
		o->err = errno;
	}
	if (fclose(o->f) != 0 && !o->failed) {
		o->failed = true;
		o->err = errno;
	}
	o->f = NULL;
	if (!o->failed && rename(o->tmp, o->path) != 0) {
		o->failed = true;
		o->err = errno;
	}
	if (o->failed) {
		snprintf(err, errlen, "state file %s: %s", o->path, strerror(o->err));
		(void)unlink(o->tmp);
		return -1;
	}
	/* the rename itself must reach the disk too */
	snprintf(dir, sizeof(dir), "%s", o->path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

long state_read(const char *path, statefile_rec_fn fn, void *arg,
		struct statefile_header *h, char *err, size_t errlen)
{
	uint8_t boot[16], *buf;
	struct stat st;
	size_t got = 0;
	long n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > STATE_READ_MAX) {
		snprintf(err, errlen, "%s", S_ISREG(st.st_mode) ? "too large" :
			 "not a regular file");
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	/* check the boot before handing out any record */
	n = statefile_decode(buf, got, h, NULL, NULL, err, errlen);
	if (n >= 0) {
		state_boot_id(boot);
		if (memcmp(boot, h->boot_id, sizeof(boot)) != 0) {
			snprintf(err, errlen, "written before the last boot: its %ld connections ended with it",
				 n);
			n = -1;
		} else if (h->netns != state_netns()) {
			snprintf(err, errlen, "written in another network namespace");
			n = -1;
		} else {
			n = statefile_decode(buf, got, h, fn, arg, err, errlen);
		}
	}
	free(buf);
	return n;
}
