/* Minimal sd_notify: datagrams to $NOTIFY_SOCKET, no library needed. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "nfflowd/notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;

/* Resolves the socket address once, at start. */
uint64_t notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *wd = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	size_t len;

	if (path && (path[0] == '/' || path[0] == '@') &&
	    (len = strlen(path)) < sizeof(notify_addr.sun_path)) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, path, len);
		if (path[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	if (!wd || (wpid && atol(wpid) != (long)getpid()))
		return 0;
	return strtoull(wd, NULL, 10);
}

/* Sends one notification datagram. */
int notify_send(const char *text)
{
	ssize_t n;

	if (notify_fd < 0)
		return -1;
	n = sendto(notify_fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT,
		   (const struct sockaddr *)&notify_addr, notify_addrlen);
	return n < 0 ? -1 : 0;
}

/* One datagram with fd attached (SCM_RIGHTS), for FDSTORE=1. Never waits:
 * a service manager too busy to take it now is told next time. */
int notify_send_fd(const char *text, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr msg = {
		.msg_name = &notify_addr,
		.msg_namelen = notify_addrlen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;

	if (notify_fd < 0)
		return -1;
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(notify_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* The file descriptors passed at start (sd_listen_fds_with_names): fds
 * 3 .. 3+LISTEN_FDS-1, named by the colon-separated LISTEN_FDNAMES, meant
 * for us only when LISTEN_PID is our pid. */
int notify_listen_fd(const char *name)
{
	const char *pid = getenv("LISTEN_PID");
	const char *nfds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	size_t len = strlen(name);
	int found = -1;
	long i, n;

	if (!pid || !nfds || atol(pid) != (long)getpid())
		goto out;
	n = atol(nfds);
	for (i = 0; i < n && i < 64; i++) {
		int fd = 3 + (int)i;
		const char *end = names ? strchr(names, ':') : NULL;
		size_t nlen = names ? (end ? (size_t)(end - names) : strlen(names)) : 0;

		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (found < 0 && names && nlen == len && memcmp(names, name, len) == 0)
			found = fd;
		else
			close(fd);	/* not ours to use; the store keeps its copy */
		names = end ? end + 1 : NULL;
	}
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return found;
}

/* Closes the socket. */
void notify_close(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}
