# shellcheck shell=bash
# A real systemd in a container, for the tests of what the packaged unit
# does under systemd (on the test machines systemd is not PID 1).  Source
# this file, then:
#
#   ct_require                  exit 77 (skip) unless this can work here
#   ct_init                     the work dir CT_DIR and the EXIT trap (ct_boot calls it)
#   ct_tree_ensure [PKG...]     the Debian tree, built once and cached (sets CT_TREE)
#   ct_boot NAME                a fresh copy of the tree booted with systemd-nspawn -b
#   ct_wait_booted NAME [SECS]  until systemctl is-system-running says running/degraded
#   ct_exec NAME CMD...         run CMD in the container (all its namespaces)
#   ct_copy_in NAME SRC DEST    a file to the path DEST, a directory into DEST
#   ct_journal NAME [ARGS...]   journalctl in the container (e.g. -u nfflowd)
#   ct_peer NAME CMD...         run a host program in the container's outside
#   ct_peer_bg NAME LABEL CMD...  the same in the background (ct_peer_stop NAME LABEL)
#   ct_exec_bg NAME LABEL CMD...  CMD in the container, in the background (ct_peer_stop)
#   ct_bg_wait NAME LABEL SECS  wait for a background CMD to end by itself
#   ct_netns / ct_outns NAME    the two network namespaces (for ip netns exec)
#   ct_pid NAME                 the container's init (systemd) as the host sees it
#   ct_stop NAME                poweroff, wait, remove the copy and the network
#   ct_cleanup                  stops everything; installed as the EXIT trap
#
# The tree: Debian CT_SUITE (bookworm), variant minbase, with systemd,
# systemd-sysv, dbus, rsyslog, procps, iproute2, nftables, conntrack, kmod
# and python3, plus the packages given to ct_tree_ensure (a test passes the
# Depends of the .deb it installs: the container has no network, so dpkg -i
# must find every dependency there already).  mmdebstrap builds it from the
# Debian sources this machine's apt is configured with (apt-get indextargets
# reads /etc/apt/sources.list and sources.list.d/* for us) into
# CT_CACHE/tree-SUITE-KEY, KEY a hash of the suite, variant, package list
# and recipe; later runs reuse it, a changed key builds a new one (and
# removes the others).  A build took 23 to 29 s on a 2-core VM (the
# mirror near), a boot from the cache under a second.
#
# A boot: an overlay of the cached tree (upper layer in CT_DIR/NAME), or
# with CT_LAYOUT=copy (or when overlayfs fails) a `cp -a --reflink=auto`
# copy; the tree in the cache is never written.  systemd-nspawn runs in a
# mount namespace of its own (unshare -m), where the overlay and, when /run
# is not a tmpfs, a tmpfs on /run/systemd/nspawn (nspawn needs one there)
# are mounted: they vanish with it, nothing is left mounted on the host.
# nspawn is started with --register=no --keep-unit in a cgroup of our own
# (CT_PREFIX-NAME in the name=systemd and unified hierarchies, or in the
# cgroup2 tree), so that it needs neither machined nor a systemd on the
# host; machinectl is therefore not used: ct_pid finds the container's init
# as nspawn's child whose pid in its own namespace is 1.
#
# The network (no link to the host's own network):
#
#   container NAME, netns CT_PREFIX-NAME         outside, netns CT_PREFIX-NAME-out
#     lo, eth0 192.0.2.10/24  <----- veth ----->  out0 192.0.2.20/24
#
# The container gets a network namespace of its own from nspawn
# (--private-network), which ct_boot names CT_PREFIX-NAME once the init
# runs (ip netns attach: for ip netns exec from the host) and moves the
# veth's end eth0 into from the outside, with its address; the outside is
# for host programs (ct_peer, ct_peer_bg): a collector such as nfcapd on
# CT_PEER_IP receives what a daemon in the container exports, and servers
# there answer the container's test connections.  eth0 arrives a few
# milliseconds into the boot: nothing of the tree's units needs it.
# Facts of this arrangement, found with systemd 252 on the 6.18 kernel of
# the test VMs:
#  - with --private-network nspawn keeps CAP_NET_ADMIN in the container's
#    bounding set and mounts /proc/sys/net read-write (the rest of
#    /proc/sys stays read-only): the package's postinst and the unit's
#    privileged ExecStartPre run systemd-sysctl on the sysctl.d file, and
#    it applies, per namespace, as on a real machine.  (With
#    --network-namespace-path, used before, /proc/sys/net was read-only and
#    CAP_NET_ADMIN had to be granted with --capability=; the two options
#    cannot be combined.)
#  - conntrack tracks nothing in a namespace until a ruleset there needs it
#    (a ct expression or a nat chain): load one (nft) before expecting
#    connections or conntrack events.
#  - that kernel has no loadable modules (no /proc/modules; netfilter is
#    built in), and the container lacks CAP_SYS_MODULE anyway, so
#    systemd-modules-load does nothing there.
#
# Every process started here is recorded (CT_DIR/NAME/*pid) and stopped by
# pid; every wait is bounded in count and time.  Call ct_boot,
# ct_peer_bg and ct_exec_bg from the script's own shell, not from a
# subshell: ct_stop reaps what they started.  Unless CT_KEEP=1 or the script fails, the
# work dir CT_DIR is removed at the end.

CT_SUITE=${CT_SUITE:-bookworm}
CT_VARIANT=minbase
CT_BASE_PACKAGES=(systemd systemd-sysv dbus rsyslog procps iproute2 nftables conntrack kmod python3)
# Bump when the way the tree is made changes (the hook below): a new key.
CT_RECIPE=1
CT_CACHE=${CT_CACHE:-/var/cache/nfflowd-tests}
CT_PREFIX=${CT_PREFIX:-nffct-$$-$RANDOM}
CT_IP=192.0.2.10
CT_PEER_IP=192.0.2.20
CT_PREFIXLEN=24
CT_DIR=${CT_DIR:-}
CT_TREE=${CT_TREE:-}
CT_UP=0
CT_LOCK_FD=
CT_LOCKED=0

ct_log() {
	printf '[ct %s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2
}

# Exit 77 (skip) unless we are root and nspawn, mmdebstrap, network
# namespaces and a writable cgroup tree are there.
ct_require() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root" >&2
		exit 77
	fi
	local tool
	for tool in mmdebstrap systemd-nspawn nsenter unshare ip flock apt-get pgrep; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool not installed" >&2
			exit 77
		fi
	done
	local probe=nffct-probe-$$-$RANDOM
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "SKIP: ip netns unusable" >&2
		exit 77
	fi
	ip netns del "$probe"
	if [ -z "$(ct_cgroup_roots)" ]; then
		echo "SKIP: no writable cgroup hierarchy for systemd in /sys/fs/cgroup" >&2
		exit 77
	fi
}

# The cgroup hierarchies a container's systemd needs, one directory a line:
# the cgroup2 root (unified host), or the name=systemd hierarchy and, when
# mounted, the cgroup2 one beside it (hybrid or legacy host).
ct_cgroup_roots() {
	case $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) in
	cgroup2fs)
		[ -w /sys/fs/cgroup ] && echo /sys/fs/cgroup
		;;
	tmpfs)
		[ -w /sys/fs/cgroup/systemd ] || return 0
		echo /sys/fs/cgroup/systemd
		if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
			echo /sys/fs/cgroup/unified
		fi
		;;
	esac
}

# The Debian sources this machine's apt uses for CT_SUITE and its -updates
# and -security suites, as sources.list lines.
ct_sources() {
	# shellcheck disable=SC2016 # apt expands $(...) in its format
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' |
		awk -v s="$CT_SUITE" '$2 == s || index($2, s "-") == 1 { print "deb " $1 " " $2 " " $3 }' |
		sort -u
}

# Make sure the cached tree with the base packages and PKG... exists; set
# CT_TREE to it.  Holds a shared lock on the cache until the script ends
# (an exclusive one while building), so that no tree is removed under a
# running container.
ct_tree_ensure() {
	local pkgs key tree log sources t0 old
	pkgs=$(printf '%s\n' "${CT_BASE_PACKAGES[@]}" "$@" | sort -u | tr '\n' ' ')
	pkgs=${pkgs% }
	key=$(printf 'suite=%s variant=%s recipe=%s packages=%s\n' \
		"$CT_SUITE" "$CT_VARIANT" "$CT_RECIPE" "$pkgs" | sha256sum | cut -c1-16)
	tree=$CT_CACHE/tree-$CT_SUITE-$key
	mkdir -p "$CT_CACHE"
	if [ "$CT_LOCKED" != 1 ]; then
		[ -z "$CT_LOCK_FD" ] || exec {CT_LOCK_FD}>&-
		exec {CT_LOCK_FD}>>"$CT_CACHE/lock"
		CT_LOCKED=1
	fi
	if ! flock -s -w 900 "$CT_LOCK_FD"; then
		ct_log "the cache $CT_CACHE stayed locked for 15 min"
		return 1
	fi
	if [ -f "$tree.done" ] && [ -d "$tree" ]; then
		CT_TREE=$tree
		ct_log "tree $tree (cached)"
		return 0
	fi
	# Build it under the exclusive lock: no container of another run uses
	# any tree meanwhile, so the outdated ones can go as well.
	if ! flock -x -w 900 "$CT_LOCK_FD"; then
		ct_log "cannot lock $CT_CACHE to build the tree (another run uses it)"
		return 1
	fi
	if [ ! -f "$tree.done" ]; then
		sources=$(ct_sources)
		if [ -z "$sources" ]; then
			ct_log "apt has no source for $CT_SUITE here (apt-get indextargets lists none)"
			flock -s "$CT_LOCK_FD"
			return 1
		fi
		log=$CT_CACHE/tree-$CT_SUITE-$key.log
		ct_log "building the $CT_SUITE tree $tree with: $pkgs"
		printf '%s\n' "$sources" | sed 's/^/[ct] source: /' >&2
		rm -rf --one-file-system "$tree" "$tree.tmp"
		t0=$SECONDS
		# In a mount namespace of its own, so that what mmdebstrap mounts
		# in the tree (/proc, /sys, /dev) goes with it even when it is
		# killed, and rm never meets it.  The hook removes the build
		# machine's host name, which mmdebstrap copies: the container is
		# called by its machine name.
		# shellcheck disable=SC2016 # $1 is the hook's argument
		if ! printf '%s\n' "$sources" | timeout 1800 unshare -m mmdebstrap --variant="$CT_VARIANT" \
			--include="${pkgs// /,}" \
			--customize-hook='rm -f "$1/etc/hostname"' \
			"$CT_SUITE" "$tree.tmp" - >"$log" 2>&1; then
			tail -n 30 "$log" >&2
			ct_log "mmdebstrap failed (log: $log)"
			rm -rf --one-file-system "$tree.tmp"
			flock -s "$CT_LOCK_FD"
			return 1
		fi
		mv "$tree.tmp" "$tree"
		printf '%s\n' "$pkgs" >"$tree.done"
		ct_log "tree built in $((SECONDS - t0)) s"
		for old in "$CT_CACHE"/tree-*; do
			case $old in
			"$tree" | "$tree".*) ;;
			*)
				ct_log "removing the outdated $old"
				rm -rf --one-file-system "$old"
				;;
			esac
		done
	fi
	flock -s "$CT_LOCK_FD"
	CT_TREE=$tree
}

# The network namespace the container NAME runs in, and its outside.
ct_netns() { echo "$CT_PREFIX-$1"; }
ct_outns() { echo "$CT_PREFIX-$1-out"; }

# The container's init (systemd), as the host sees it.
ct_pid() {
	local f=$CT_DIR/$1/init.pid
	[ -s "$f" ] || { ct_log "container $1 has no init"; return 1; }
	cat "$f"
}

# Nspawn's child that is pid 1 in a pid namespace of its own.
ct_find_init() {
	local parent=$1 c
	for c in $(pgrep -P "$parent"); do
		if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$c/status" 2>/dev/null)" = 1 ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# Create the work dir CT_DIR (unless set) and install ct_cleanup on EXIT.
ct_init() {
	[ "$CT_UP" = 1 ] && return 0
	if [ -z "$CT_DIR" ]; then
		CT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nfflowd-ct.XXXXXX")
	fi
	: >"$CT_DIR/names"
	# The lock of the cache (ct_tree_ensure) stays with this shell: the
	# container and the peers are started with it closed.
	[ -n "$CT_LOCK_FD" ] || exec {CT_LOCK_FD}</dev/null
	CT_UP=1
	trap ct_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	ct_log "work dir $CT_DIR, namespaces $CT_PREFIX-*"
}

# Run by ct_boot in the mount namespace of unshare -m, as
#   sh -c SCRIPT sh LOWER DIR CGROUP... -- NSPAWN-COMMAND...
# shellcheck disable=SC2016 # expanded by that sh
CT_BOOT_SCRIPT='set -e
lower=$1 d=$2
shift 2
while [ "$1" != -- ]; do
	echo $$ >"$1/cgroup.procs"
	shift
done
shift
if [ "$(stat -f -c %T /run)" != tmpfs ]; then
	mkdir -p /run/systemd/nspawn
	mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
fi
if [ "${CT_LAYOUT:-overlay}" = overlay ] &&
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$d/root" 2>"$d/overlay.err"; then
	echo overlay >"$d/layout"
else
	cp -a --reflink=auto "$lower/." "$d/root/"
	echo copy >"$d/layout"
fi
exec "$@"'

# Boot a fresh copy of CT_TREE as container NAME in the background, with
# the network above.  Returns once its init runs (ct_wait_booted waits for
# the boot to finish).
ct_boot() {
	local name=$1 d ns out cg roots r pid init='' deadline _
	if [ -z "$CT_TREE" ]; then
		ct_log "ct_boot: call ct_tree_ensure first"
		return 1
	fi
	ct_init
	d=$CT_DIR/$name
	if ! mkdir "$d"; then
		ct_log "ct_boot: container $name exists already"
		return 1
	fi
	echo "$name" >>"$CT_DIR/names"
	ns=$(ct_netns "$name")
	out=$(ct_outns "$name")
	# The outside, and the veth whose end eth0 waits there until the
	# container's own namespace exists (nspawn makes it: --private-network).
	ip netns add "$out"
	ip -n "$out" link set lo up
	ip -n "$out" link add out0 type veth peer name eth0
	ip -n "$out" addr add "$CT_PEER_IP/$CT_PREFIXLEN" dev out0
	ip -n "$out" link set out0 up
	cg=()
	roots=$(ct_cgroup_roots)
	for r in $roots; do
		mkdir "$r/$CT_PREFIX-$name"
		cg+=("$r/$CT_PREFIX-$name")
		echo "$r/$CT_PREFIX-$name" >>"$d/cgroups"
	done
	mkdir "$d/upper" "$d/work" "$d/root"
	CT_LAYOUT=${CT_LAYOUT:-overlay} unshare -m sh -c "$CT_BOOT_SCRIPT" sh "$CT_TREE" "$d" "${cg[@]}" -- \
		systemd-nspawn --quiet --boot --directory="$d/root" --machine="$name" \
		--register=no --keep-unit --private-network \
		--console=read-only --resolv-conf=off \
		--timezone=off --link-journal=no \
		>"$d/console.log" 2>&1 </dev/null {CT_LOCK_FD}>&- &
	pid=$!
	echo "$pid" >"$d/nspawn.pid"
	# A copy of the tree takes seconds; an overlay none.
	deadline=$((SECONDS + 120))
	for _ in $(seq 1 1200); do
		init=$(ct_find_init "$pid") && break
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			break
		fi
		sleep 0.1
	done
	if [ -z "$init" ]; then
		ct_log "container $name: no init started; console:"
		tail -n 20 "$d/console.log" >&2
		return 1
	fi
	echo "$init" >"$d/init.pid"
	# The container's network namespace gets its name (a bind mount in
	# /run/netns, for ip netns exec), and eth0 moves in.
	if ! ip netns attach "$ns" "$init"; then
		ct_log "container $name: ip netns attach $ns $init failed"
		return 1
	fi
	if ! ip -n "$out" link set dev eth0 netns "$ns" ||
		! ip -n "$ns" addr add "$CT_IP/$CT_PREFIXLEN" dev eth0 ||
		! ip -n "$ns" link set eth0 up || ! ip -n "$ns" link set lo up; then
		ct_log "container $name: eth0 could not be moved into its namespace and set up"
		return 1
	fi
	ct_log "container $name: nspawn $pid, init $init, $(cat "$d/layout" 2>/dev/null) of $CT_TREE"
}

# Wait (at most SECS, default 60) until the container's boot has finished:
# systemctl is-system-running says running, or degraded (then the failed
# units are listed).
ct_wait_booted() {
	local name=$1 limit=${2:-60} state='' deadline nspawn _
	nspawn=$(cat "$CT_DIR/$name/nspawn.pid")
	deadline=$((SECONDS + limit))
	for _ in $(seq 1 $((limit * 5))); do
		state=$(ct_exec "$name" systemctl is-system-running 2>/dev/null) || true
		case $state in
		running)
			return 0
			;;
		degraded)
			ct_log "container $name booted degraded; failed units:"
			ct_exec "$name" systemctl --failed --no-legend >&2 || true
			return 0
			;;
		esac
		if ! kill -0 "$nspawn" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			break
		fi
		sleep 0.2
	done
	ct_log "container $name not booted after ${limit} s (state '${state}'); console:"
	tail -n 20 "$CT_DIR/$name/console.log" >&2
	return 1
}

# Run CMD in every namespace of the container, as root, with a clean
# environment.  Standard input and output pass through.
ct_exec() {
	local name=$1 pid
	shift
	pid=$(ct_pid "$name") || return 1
	nsenter -t "$pid" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 HOME=/root "$@"
}

# Copy a host file to the path DEST in the container (mode kept), or a
# host directory into the directory DEST.  Through tar in the container,
# not through /proc/PID/root, where an absolute link of the container's
# tree would lead back to the host.  (Not to /tmp for units with
# PrivateTmp: they see a /tmp of their own.)
ct_copy_in() {
	local name=$1 src=$2 dest=$3 mode
	if [ -d "$src" ]; then
		tar -C "$(dirname "$src")" -cf - "$(basename "$src")" |
			ct_exec "$name" tar -xf - -C "$dest"
	else
		mode=$(stat -c %a "$src")
		# shellcheck disable=SC2016 # expanded by the container's sh
		ct_exec "$name" sh -c 'cat >"$1" && chmod "$2" "$1"' sh "$dest" "$mode" <"$src"
	fi
}

# journalctl in the container, without pager: ct_journal NAME -u UNIT ...
ct_journal() {
	local name=$1
	shift
	ct_exec "$name" journalctl --no-pager -o short-precise "$@"
}

# Run a host program in the container's outside namespace.
ct_peer() {
	local ns
	ns=$(ct_outns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# Start a host program in the outside namespace in the background, its
# output in CT_DIR/NAME/LABEL.out and .err: ct_peer_bg NAME LABEL CMD...
ct_peer_bg() {
	local name=$1 label=$2 ns pid
	ns=$(ct_outns "$name")
	shift 2
	# A simple command, so that $! is the process itself.
	ip netns exec "$ns" "$@" >"$CT_DIR/$name/$label.out" 2>"$CT_DIR/$name/$label.err" </dev/null \
		{CT_LOCK_FD}>&- &
	pid=$!
	echo "$pid" >"$CT_DIR/$name/$label.bgpid"
	ct_log "started $label (pid $pid) outside $name: $*"
}

# Start CMD in the container in the background, its output in
# CT_DIR/NAME/LABEL.out and .err: ct_exec_bg NAME LABEL CMD...  It runs in
# every namespace of the container but its pid namespace (nsenter -F: no
# fork), so that it is this shell's child and is stopped by its pid (an
# nsenter that forks neither passes signals on nor takes its child along).
# Its files are the container's, its network the container's: conntrack -E
# there sees the container's connections.  Stopped with ct_peer_stop NAME
# LABEL, or waited for with ct_bg_wait; ct_stop stops it if still running.
ct_exec_bg() {
	local name=$1 label=$2 init pid
	shift 2
	init=$(ct_pid "$name") || return 1
	nsenter -t "$init" -a -F -- /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 HOME=/root "$@" >"$CT_DIR/$name/$label.out" \
		2>"$CT_DIR/$name/$label.err" </dev/null {CT_LOCK_FD}>&- &
	pid=$!
	echo "$pid" >"$CT_DIR/$name/$label.bgpid"
	ct_log "started $label (pid $pid) in $name: $*"
}

# Wait at most SECS for PID to end (0.1 s steps); true once it has.
ct_wait_gone() {
	local pid=$1 limit=$2 deadline _
	deadline=$((SECONDS + limit))
	for _ in $(seq 1 $((limit * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		[ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# Wait at most SECS for what ct_exec_bg or ct_peer_bg started as LABEL to
# end by itself; return its exit status.  Still running then: it is
# stopped (ct_peer_stop) and 124 returned.
ct_bg_wait() {
	local f=$CT_DIR/$1/$2.bgpid limit=$3 pid rc=0
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if ! ct_wait_gone "$pid" "$limit"; then
		ct_log "$1/$2 (pid $pid) still running after $limit s: stopping it"
		ct_peer_stop "$1" "$2"
		return 124
	fi
	rm -f "$f"
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# Stop what ct_peer_bg started: SIGTERM (or $3), at most 5 s, then SIGKILL.
ct_peer_stop() {
	local f=$CT_DIR/$1/$2.bgpid sig=${3:-TERM} pid _
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	rm -f "$f"
	ct_kill_wait "$pid" "$sig" 5 "$1/$2" || true
}

# Send SIG to PID and wait at most SECS for it to end, then SIGKILL it.
# Returns the exit status when PID is our child.
ct_kill_wait() {
	local pid=$1 sig=$2 limit=$3 what=$4 rc=0
	kill -s "$sig" "$pid" 2>/dev/null || true
	if ! ct_wait_gone "$pid" "$limit"; then
		ct_log "$what (pid $pid) ignored SIG$sig for $limit s, killing"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# Shut the container down and remove it: systemctl poweroff and at most
# 30 s for nspawn to end; else SIGTERM to nspawn (it asks the init to halt)
# and 10 s more; else SIGKILL to the init (which ends its whole pid
# namespace) and to nspawn.  Then its peers, cgroups, namespaces and the
# copy of the tree go; its logs stay in CT_DIR/NAME.
ct_stop() {
	local name=$1 d nspawn init f pid ns cg _ deadline
	d=$CT_DIR/$name
	[ -d "$d" ] && [ ! -e "$d/stopped" ] || return 0
	touch "$d/stopped"
	nspawn=$(cat "$d/nspawn.pid" 2>/dev/null) || nspawn=
	init=$(cat "$d/init.pid" 2>/dev/null) || init=
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		if [ -n "$init" ]; then
			timeout 10 nsenter -t "$init" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				systemctl poweroff --no-block >/dev/null 2>&1 || true
		fi
		deadline=$((SECONDS + 30))
		for _ in $(seq 1 300); do
			kill -0 "$nspawn" 2>/dev/null || break
			[ $SECONDS -ge $deadline ] && break
			sleep 0.1
		done
		if kill -0 "$nspawn" 2>/dev/null; then
			ct_log "container $name still up 30 s after poweroff: SIGTERM to nspawn"
			kill -TERM "$nspawn" 2>/dev/null || true
			deadline=$((SECONDS + 10))
			for _ in $(seq 1 100); do
				kill -0 "$nspawn" 2>/dev/null || break
				[ $SECONDS -ge $deadline ] && break
				sleep 0.1
			done
		fi
		if kill -0 "$nspawn" 2>/dev/null; then
			ct_log "container $name still up: SIGKILL to its init $init and nspawn $nspawn"
			if [ -n "$init" ]; then
				kill -KILL "$init" 2>/dev/null || true
			fi
			ct_kill_wait "$nspawn" KILL 5 "nspawn-$name" || true
		fi
	fi
	[ -n "$nspawn" ] && { wait "$nspawn" 2>/dev/null || true; }
	for f in "$d"/*.bgpid; do
		[ -e "$f" ] || continue
		ct_peer_stop "$name" "$(basename "$f" .bgpid)"
	done
	for ns in "$(ct_netns "$name")" "$(ct_outns "$name")"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			ct_log "killing leftover pid $pid in $ns"
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -f "$d/cgroups" ]; then
		while read -r cg; do
			# Empty once the container is gone; at most 5 s for the
			# kernel to let go of the last exited task.
			for _ in $(seq 1 50); do
				find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
				[ -d "$cg" ] || break
				sleep 0.1
			done
			[ -d "$cg" ] && ct_log "cgroup $cg could not be removed"
		done <"$d/cgroups"
	fi
	rm -rf --one-file-system "$d/upper" "$d/work" "$d/root"
	ct_log "container $name stopped"
}

# Stop every container of this script and its peers; remove the work dir
# unless the script failed or CT_KEEP=1.  The EXIT trap (a script with an
# EXIT trap of its own calls it from there).
ct_cleanup() {
	local rc=$? name
	[ "$CT_UP" = 1 ] || return $rc
	CT_UP=0
	while read -r name; do
		ct_stop "$name"
	done <"$CT_DIR/names"
	if [ "${CT_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
		ct_log "work dir kept: $CT_DIR"
	else
		rm -rf "$CT_DIR"
	fi
	return $rc
}
