#!/bin/bash
# Run a command with a fake syslog socket at /dev/log, in the private mount
# namespace this script is started in:
#
#   unshare --mount --propagation private bash devlog.sh WORK SECONDS CMD...
#
# Never run it without unshare: it mounts over /dev or /dev/log.  When
# /dev/log exists, a socket of our own is bind-mounted over it; when it does
# not, a tmpfs replaces /dev (so that nothing is created in the host's
# /dev) holding the usual device nodes, bound from the original /dev, and
# our socket.  The listener (notifylisten.py, at most SECONDS) appends every
# datagram to WORK/syslog.jsonl; its pid goes to WORK/listener.pid.  Then
# CMD replaces this shell, so the caller's $! is CMD's pid.
set -euo pipefail
work=$1 secs=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=${LAB_PY:-/usr/bin/python3}

# Refuse to touch anything unless / is private to this mount namespace.
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
	echo "devlog.sh: not in a mount namespace of its own" >&2
	exit 1
fi

# Start the listener bound at $1 and wait (at most 5 s) until it listens.
listener_start() {
	: >"$work/syslog.jsonl"
	"$py" "$here/notifylisten.py" listen "$1" "$work/syslog.jsonl" "$secs" \
		>"$work/listener.out" 2>"$work/listener.err" </dev/null &
	echo $! >"$work/listener.pid"
	for _ in $(seq 1 50); do
		grep -q listening "$work/listener.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "devlog.sh: the listener did not start" >&2
	cat "$work/listener.err" >&2
	exit 1
}

if [ -e /dev/log ]; then
	echo bind >"$work/devlog.mode"
	listener_start "$work/devlog.sock"
	mount --bind "$work/devlog.sock" /dev/log
else
	echo tmpfs >"$work/devlog.mode"
	mkdir -p "$work/hostdev"
	mount --bind /dev "$work/hostdev"
	mount -t tmpfs -o mode=0755,size=1m,nosuid devlog /dev
	for node in null zero full random urandom tty; do
		[ -e "$work/hostdev/$node" ] || continue
		: >"/dev/$node"
		mount --bind "$work/hostdev/$node" "/dev/$node"
	done
	for dir in pts shm mqueue; do
		[ -d "$work/hostdev/$dir" ] || continue
		mkdir "/dev/$dir"
		mount --rbind "$work/hostdev/$dir" "/dev/$dir"
	done
	ln -s /proc/self/fd /dev/fd
	ln -s fd/0 /dev/stdin
	ln -s fd/1 /dev/stdout
	ln -s fd/2 /dev/stderr
	umount -l "$work/hostdev"
	listener_start /dev/log
fi
if [ ! -S /dev/log ]; then
	echo "devlog.sh: /dev/log is not our socket" >&2
	exit 1
fi
exec "$@"
