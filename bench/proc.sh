# shellcheck shell=bash
# What the benchmark scripts read of a process in /proc, and the wait for
# processes to go idle: source it.

# utime + stime of process $1 in clock ticks, empty if it is gone.
cpu_ticks() {
	local f
	f=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	f=${f##*) }
	# shellcheck disable=SC2086
	set -- $f
	echo $((${12} + ${13}))
}

# stime alone of process $1 in clock ticks, empty if it is gone.
stime_ticks() {
	local f
	f=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	f=${f##*) }
	# shellcheck disable=SC2086
	set -- $f
	echo "${13}"
}

# Time process $1 ran on a CPU in ns (/proc/PID/schedstat, user and system
# alike, counted by the scheduler, not sampled at each tick as utime+stime
# are); 0 if it is gone or the kernel keeps no schedstat.
run_ns() {
	awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0
}

# A context switch count of process $1 from /proc/PID/status: $2 is
# voluntary_ctxt_switches (each a sleep, e.g. in epoll_wait) or
# nonvoluntary_ctxt_switches (each a preemption); 0 when it is gone.
ctxsw() {
	awk -v k="$2:" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' \
		"/proc/$1/status" 2>/dev/null || echo 0
}

# Runs the command "$2 ..." every 0.5 s until its output has stood still
# for 2 s (four readings alike), at most $1 readings: with a command that
# prints CPU ticks, until those processes are idle.
wait_still() {
	local max=$1 last=-1 still=0 now
	shift
	for _ in $(seq 1 "$max"); do
		now=$("$@")
		if [ "$now" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 4 ] && return 0
		else
			still=0
		fi
		last=$now
		sleep 0.5
	done
	return 1
}
