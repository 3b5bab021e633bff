/* Minimal sd_notify: datagrams to $NOTIFY_SOCKET, no library needed. */
#include <errno.h>
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
	n = sendto(notify_fd, text, strlen(text), MSG_NOSIGNAL,
		   (const struct sockaddr *)&notify_addr, notify_addrlen);
	return n < 0 ? -1 : 0;
}

/* Closes the socket. */
void notify_close(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}
