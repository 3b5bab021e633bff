#!/bin/bash
# The daemon as the packaged unit runs it (packaging/nfflowd.service.in): an
# unprivileged uid with no supplementary groups, only CAP_NET_ADMIN (ambient
# and bounding set), no_new_privs, "kernel_setup": false with the kernel
# settings made beforehand by root (as sysctl.d/50-nfflowd.conf does), and
# pidfile and control socket in a directory owned by that uid (as
# RuntimeDirectory= makes /run/nfflowd).  It must subscribe, size its netlink
# buffer beyond rmem_max (SO_RCVBUFFORCE), dump the table and export every
# connection of the standard scenario exactly as conntrack reported it.
# Without CAP_NET_ADMIN the same start must fail, naming the call.
#   usage: NFFLOWD=build/nfflowd tests/integration/unprivileged.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss setpriv

# The unit's user is created by sysusers; here any unused uid stands for it
# (the same privileges: not root, no groups), so the host's users stay as
# they are.  Prefer the real user when the package already created it.
if id -u nfflowd >/dev/null 2>&1; then
	RUN_UID=$(id -u nfflowd)
	RUN_GID=$(id -g nfflowd)
else
	RUN_UID=
	for u in $(seq 64100 64199); do
		if ! getent passwd "$u" >/dev/null && ! getent group "$u" >/dev/null; then
			RUN_UID=$u
			break
		fi
	done
	[ -n "$RUN_UID" ] || { echo "FAIL: no unused uid in 64100-64199"; exit 1; }
	RUN_GID=$RUN_UID
fi


# RUN_DIR plays /run/nfflowd (RuntimeDirectory=, owned by the unit's user);
# the lab's own files stay root's, readable by the uid.
LAB_DIR=$(mktemp -d /tmp/nfflab.XXXXXX)
chmod 0711 "$LAB_DIR"
RUN_DIR=$LAB_DIR/run
mkdir -m 0750 "$RUN_DIR"
chown "$RUN_UID:$RUN_GID" "$RUN_DIR"
REAL_NFFLOWD=$LAB_NFFLOWD
# The binary's directory must be reachable by the uid (a build dir under
# /tmp or /work usually is); copy it if not.
if ! setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups \
	test -x "$REAL_NFFLOWD"; then
	install -m 0755 "$REAL_NFFLOWD" "$LAB_DIR/nfflowd.bin"
	REAL_NFFLOWD=$LAB_DIR/nfflowd.bin
fi

# Every invocation of nfflowd (the daemon and its client commands) runs
# through this wrapper with the unit's credentials; CAPS is the capability
# set: "+net_admin" as in the unit, or "" for none at all.
CAPS=+net_admin
cat >"$LAB_DIR/nfflowd-as-unit" <<-EOF
	#!/bin/sh
	caps=\${NFF_CAPS-$CAPS}
	if [ -n "\$caps" ]; then
		set -- --inh-caps=-all,\$caps --ambient-caps=\$caps --bounding-set=-all,\$caps "\$@"
	else
		set -- --inh-caps=-all --bounding-set=-all "\$@"
	fi
	exec setpriv --reuid=$RUN_UID --regid=$RUN_GID --clear-groups --no-new-privs "\$@"
EOF
chmod 0755 "$LAB_DIR/nfflowd-as-unit"
# The wrapper execs, so the pid the lab records is the daemon's own.
LAB_NFFLOWD=$LAB_DIR/nfflowd-as-unit

lab_up
lab_daemon_config '"kernel_setup": false'
sed -i -e "s|\"$LAB_DIR/nfflowd.pid\"|\"$RUN_DIR/nfflowd.pid\"|" \
	-e "s|\"$LAB_DIR/nfflowd.sock\"|\"$RUN_DIR/nfflowd.sock\"|" "$LAB_DIR/nfflowd.json"
chmod 0644 "$LAB_DIR/nfflowd.json"
# What sysctl.d/50-nfflowd.conf does at boot (the lab sets acct and
# timestamp already).
lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_events=1

# --- without CAP_NET_ADMIN the start fails and says which call
NO_CAP_OUT=$(lab_ns fw env NFF_CAPS= timeout 20 "$LAB_NFFLOWD" \
	"$REAL_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start 2>&1) && rc=0 || rc=$?
check "without CAP_NET_ADMIN: start exits 1 (got $rc)" [ "$rc" = 1 ]
check "without CAP_NET_ADMIN: the message names the netlink call" \
	grep -qiE 'conntrack|netlink' <<<"$NO_CAP_OUT"
printf '  | %s\n' "$NO_CAP_OUT"

# lab_daemon_start and lab_nfflowd call "$LAB_NFFLOWD" -c ...: put the real
# binary in front of those arguments through a second wrapper.
cat >"$LAB_DIR/nfflowd-unit" <<-EOF
	#!/bin/sh
	exec "$LAB_DIR/nfflowd-as-unit" "$REAL_NFFLOWD" "\$@"
EOF
chmod 0755 "$LAB_DIR/nfflowd-unit"
LAB_NFFLOWD=$LAB_DIR/nfflowd-unit

# --- the standard scenario (lab_scenario) with a look at the running daemon
lab_servers_start
lab_ct_drain 10
lab_oracle_start
lab_collector_start
lab_daemon_start
# lab_daemon_start waits for the lab's own record; wait for the daemon's
# pidfile and its "ready" line too.
for _ in $(seq 1 100); do
	grep -q 'ready (pid' "$LAB_DIR/nfflowd.err" 2>/dev/null && break
	sleep 0.1
done
PID=$(lab_pid nfflowd)
check "daemon is ready" grep -q 'ready (pid' "$LAB_DIR/nfflowd.err"
check "pidfile names the daemon" [ "$(cat "$RUN_DIR/nfflowd.pid" 2>/dev/null)" = "$PID" ]
STATUS=$(cat "/proc/$PID/status")
field() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$STATUS"; }
check "daemon runs as uid $RUN_UID" [ "$(field Uid)" = "$RUN_UID" ]
check "daemon runs as gid $RUN_GID" [ "$(field Gid)" = "$RUN_GID" ]
check "daemon has no supplementary groups" [ -z "$(field Groups)" ]
# CAP_NET_ADMIN is bit 12: 0x1000.
check "effective capabilities: CAP_NET_ADMIN only ($(field CapEff))" \
	[ "$(field CapEff)" = 0000000000001000 ]
check "bounding set: CAP_NET_ADMIN only ($(field CapBnd))" \
	[ "$(field CapBnd)" = 0000000000001000 ]
check "no_new_privs is set" [ "$(field NoNewPrivs)" = 1 ]
check "pidfile written by the uid" [ "$(stat -c %u "$RUN_DIR/nfflowd.pid")" = "$RUN_UID" ]
# The control socket is the uid's too.
dump_state() { lab_nfflowd --dump-state --json >"$LAB_DIR/state.json"; }
check "control socket answers (--dump-state)" dump_state
# SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it the buffer would stay at
# net.core.rmem_max.  The kernel reports twice the 64 MiB asked for.
BUF=$(sed -n 's/.*netlink buffer \([0-9]*\) bytes.*/\1/p' "$LAB_DIR/nfflowd.err" | head -1)
check "netlink buffer forced to 64 MiB (got ${BUF:-nothing})" \
	[ "${BUF:-0}" -ge 67108864 ]

lab_traffic
lab_ct_drain 20 "dport=$LAB_COLLECTOR_PORT "
lab_ct_drain 8 || lab_log "export flow still alive; going on"
sleep 0.6
check "reload as the unit's user (ExecReload=nfflowd reload)" \
	lab_nfflowd reload
sleep 0.3
check "nfflowd stop as the unit's user" lab_daemon_stop
sleep 0.3
lab_collector_stop
lab_oracle_stop
TZ=UTC nfdump -R "$LAB_DIR/flows" -N -o json >"$LAB_DIR/collector.json"
check "daemon tried no kernel setting" \
	bash -c "! grep -qiE 'cannot (switch|set)' '$LAB_DIR/nfflowd.err'"

rc=0
it_compare_scenario "$LAB_DIR/collector.json" "$LAB_DIR/nfflowd.out" || rc=$?
if [ $rc != 0 ]; then
	it_diagnose
	FAILS=$((FAILS + 1))
fi
if [ $FAILS != 0 ]; then
	it_show "$LAB_DIR/nfflowd.err"
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "----- what the collector received -----"
lab_collector_show
