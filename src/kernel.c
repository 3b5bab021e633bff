/* Reads and writes /proc/sys/net/netfilter/ settings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nfflowd/kernel.h"

static void sysctl_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/proc/sys/net/netfilter/%s", name);
}

/* Reads one integer sysctl. */
int kernel_get(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	sysctl_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = n == 0 ? EIO : errno;
		return -1;
	}
	buf[n] = '\0';
	return atoi(buf);
}

/* Writes one integer sysctl. */
int kernel_set(const char *name, int value)
{
	char path[128], buf[16];
	int fd, n, saved;

	sysctl_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%d\n", value);
	if (write(fd, buf, (size_t)n) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}
