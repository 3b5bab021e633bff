/* A pidfile whose POSIX write lock, not its content, says "running". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nfflowd/pidfile.h"

static int lock_whole(int fd, short type, int cmd, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	return fcntl(fd, cmd, fl);
}

/* Locks and writes the pidfile for this process. */
int pidfile_acquire(const char *path, pid_t *holder)
{
	struct flock fl;
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (lock_whole(fd, F_WRLCK, F_SETLK, &fl) < 0) {
		int saved = errno;

		if (saved == EACCES || saved == EAGAIN) {
			if (holder) {
				lock_whole(fd, F_WRLCK, F_GETLK, &fl);
				*holder = fl.l_type == F_UNLCK ? 0 : fl.l_pid;
			}
			saved = EEXIST;
		}
		close(fd);
		errno = saved;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Asks the kernel who holds the lock; the file content is not trusted. */
pid_t pidfile_running(const char *path)
{
	struct flock fl;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (lock_whole(fd, F_WRLCK, F_GETLK, &fl) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

/* Removes the pidfile while still holding its lock, then drops it. */
void pidfile_release(int fd, const char *path)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
