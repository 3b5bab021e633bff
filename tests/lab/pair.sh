# shellcheck shell=bash source-path=SCRIPTDIR
# Firewall-pair lab for nfflowd (issue 23): source this file (it sources
# lab.sh), then call pair_up.
#
#                  brlan (bridge br0)                 brwan (bridge br0)
#   lan 192.0.2.2 ----+---- fw1 192.0.2.11 | 198.51.100.11 ----+---- wan 198.51.100.2
#                     |      | fw-sync 203.0.113.1             |     (servers, nfcapd)
#                     |      |                                 |
#                     |      | fw-sync 203.0.113.2             |
#                     +---- fw2 192.0.2.12 | 198.51.100.12 ----+
#
# The virtual addresses 192.0.2.1 (the LAN host's default route) and
# 198.51.100.1 (the address every connection is translated to) are moved
# between fw1 and fw2 by keepalived (VRRP version 3, unicast over the sync
# link, fw1 priority 150, fw2 100).  conntrackd (FTFW over UDP on the sync
# link, DisableExternalCache On) injects each firewall's connections into
# the other's kernel table, so a connection survives the move.  Both
# firewalls snat 192.0.2.0/24 leaving fw-wan to 198.51.100.1 and forward
# 198.51.100.1:8080 to 192.0.2.2:80; the sync link is not tracked.
# TCP mid-stream pickup is off (nf_conntrack_tcp_loose=0) and invalid
# packets are dropped, so a connection survives a move only through the
# entry conntrackd injected.
#
# Only 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 are used, no
# namespace is connected to the host's network and VRRP is unicast, so no
# packet leaves the lab.  Every process is started with lab_bg (recorded
# by pid, killed by pid in lab_down on EXIT); every wait is bounded.
#
# Functions: pair_up; pair_keepalived_start, pair_wait_master fw1|fw2,
# pair_switchover, pair_crash, pair_failback, pair_table_lost,
# pair_links_up, pair_resync; pair_conntrackd_start,
# pair_wait_synced; pair_daemon_start NODE, pair_daemon_stop NODE;
# pair_oracle_start, pair_oracle_stop; pair_exports NODE (what the
# collector got from one node); see each function.

# shellcheck source=lab.sh
declare -F lab_init >/dev/null ||
	. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh"

# shellcheck disable=SC2034  # read by lab.sh
LAB_EXTRA_NS="fw1 fw2 brlan brwan"
# shellcheck disable=SC2034  # read by lab.sh
LAB_DOWN_HOOK=pair_down_daemons
PAIR_NODES="fw1 fw2"
# The virtual addresses: lab.sh's fw addresses, so that lab.sh's clients
# (lab_tcp_client, lab_dnat_client ...) work through the pair unchanged.
PAIR_VIP_LAN=$LAB_FW_LAN_IP
PAIR_VIP_WAN=$LAB_FW_WAN_IP
PAIR_VRID=${PAIR_VRID:-51}
# VRRP advertisement interval (s); the backup takes over after about three.
PAIR_ADVERT_INT=${PAIR_ADVERT_INT:-0.2}
PAIR_SYNC_PORT=3780
# 0: a mid-stream TCP packet without an entry is invalid (and dropped), so
# only a synchronised entry carries a connection across a move.
PAIR_TCP_LOOSE=${PAIR_TCP_LOOSE:-0}
# 1: TCP window tracking off (nf_conntrack_tcp_be_liberal), for a
# connection that comes back to a node whose own entry of it stopped
# following its sequence numbers when it moved away (conntrackd copies no
# windows; the peer's copies start without any and take the first packet).
PAIR_TCP_LIBERAL=${PAIR_TCP_LIBERAL:-0}

# The address of node $1 (fw1 or fw2) on side $2 (lan, wan or sync).
pair_ip() {
	local n
	case $1 in
	fw1) n=1 ;;
	fw2) n=2 ;;
	*) lab_log "pair_ip: unknown node $1"; return 2 ;;
	esac
	case $2 in
	lan) echo "192.0.2.1$n" ;;
	wan) echo "198.51.100.1$n" ;;
	sync) echo "203.0.113.$n" ;;
	*) lab_log "pair_ip: unknown side $2"; return 2 ;;
	esac
}

# The other node of the pair.
pair_peer() {
	case $1 in
	fw1) echo fw2 ;;
	fw2) echo fw1 ;;
	*) lab_log "pair_peer: unknown node $1"; return 2 ;;
	esac
}

# Create the six namespaces (lan, wan, fw1, fw2 and the bridges brlan and
# brwan), links, addresses, routes, firewall rules and kernel settings.
pair_up() {
	lab_init
	lab_log "pair namespaces $LAB_PREFIX-{lan,wan,fw1,fw2,brlan,brwan}, work dir $LAB_DIR"
	local ns node seg
	for ns in lan wan fw1 fw2 brlan brwan; do
		ip netns add "$(lab_nsname $ns)"
		ip -n "$(lab_nsname $ns)" link set lo up
	done
	# One bridge per segment, each in a namespace of its own; no STP, no
	# forwarding delay, no IPv6 chatter.
	for seg in lan wan; do
		ns=$(lab_nsname "br$seg")
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0
		ip -n "$ns" link set br0 up
	done
	# The hosts: lan0 and wan0 to their bridge.
	ip -n "$LAB_LAN" link add lan0 type veth peer name host netns "$(lab_nsname brlan)"
	ip -n "$LAB_WAN" link add wan0 type veth peer name host netns "$(lab_nsname brwan)"
	# Each firewall: fw-lan and fw-wan to the bridges (ports fw1, fw2).
	for node in $PAIR_NODES; do
		ns=$(lab_nsname "$node")
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link add fw-lan type veth peer name "$node" netns "$(lab_nsname brlan)"
		ip -n "$ns" link add fw-wan type veth peer name "$node" netns "$(lab_nsname brwan)"
	done
	for seg in lan wan; do
		ns=$(lab_nsname "br$seg")
		for node in host $PAIR_NODES; do
			ip -n "$ns" link set "$node" master br0
			ip -n "$ns" link set "$node" up
		done
	done
	# The sync link, fw1 to fw2 directly.
	ip -n "$(lab_nsname fw1)" link add fw-sync type veth peer name fw-sync \
		netns "$(lab_nsname fw2)"

	ip -n "$LAB_LAN" addr add "$LAB_LAN_IP/24" dev lan0
	ip -n "$LAB_LAN" link set lan0 up
	ip -n "$LAB_LAN" route add default via "$PAIR_VIP_LAN"
	# The server needs no route back to 192.0.2.0/24: everything it sees
	# comes from 198.51.100.1.
	ip -n "$LAB_WAN" addr add "$LAB_WAN_IP/24" dev wan0
	ip -n "$LAB_WAN" link set wan0 up

	for node in $PAIR_NODES; do
		ns=$(lab_nsname "$node")
		ip -n "$ns" addr add "$(pair_ip "$node" lan)/24" dev fw-lan
		ip -n "$ns" addr add "$(pair_ip "$node" wan)/24" dev fw-wan
		ip -n "$ns" addr add "$(pair_ip "$node" sync)/24" dev fw-sync
		ip -n "$ns" link set fw-lan up
		ip -n "$ns" link set fw-wan up
		ip -n "$ns" link set fw-sync up
		pair_nft "$node"
		# The nat table pulled in conntrack; now its settings exist.
		lab_fw_sysctl "$node" \
			net.netfilter.nf_conntrack_tcp_loose="$PAIR_TCP_LOOSE" \
			net.netfilter.nf_conntrack_tcp_be_liberal="$PAIR_TCP_LIBERAL"
	done
	# Resolve the neighbours on the sync link and on each segment now
	# (bounded), so that no first packet waits for ARP.
	lab_ns fw1 ping -c 1 -W 2 -q "$(pair_ip fw2 sync)" >/dev/null
	lab_ns lan ping -c 1 -W 2 -q "$(pair_ip fw1 lan)" >/dev/null
	lab_ns lan ping -c 1 -W 2 -q "$(pair_ip fw2 lan)" >/dev/null
	lab_ns wan ping -c 1 -W 2 -q "$(pair_ip fw1 wan)" >/dev/null
	lab_ns wan ping -c 1 -W 2 -q "$(pair_ip fw2 wan)" >/dev/null
}

# The ruleset of node $1: snat to the WAN virtual address (not masquerade,
# which would take the interface's primary address, the node's own), the
# port forward, invalid packets dropped, the sync link untracked.
pair_nft() {
	lab_ns "$1" nft -f - <<-EOF
		table ip nfflab {
			chain raw_pre {
				type filter hook prerouting priority raw; policy accept;
				iifname "fw-sync" notrack
			}
			chain raw_out {
				type filter hook output priority raw; policy accept;
				oifname "fw-sync" notrack
			}
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				ip daddr $PAIR_VIP_WAN tcp dport 8080 dnat to $LAB_LAN_IP:80
			}
			chain forward_filter {
				type filter hook forward priority filter; policy accept;
				ct state invalid counter drop
			}
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "fw-wan" ip saddr 192.0.2.0/24 snat to $PAIR_VIP_WAN
			}
		}
	EOF
}

# ---------------------------------------------------------------- keepalived

# Write keepalived's configuration of node $1 with priority $2 (default:
# fw1 150, fw2 100) to LAB_DIR/keepalived-NODE.conf.  One VRRP instance
# on the sync link, by unicast to the peer; both virtual addresses on
# their own interfaces, which are tracked (a link down is a FAULT).
pair_keepalived_config() {
	local node=$1 prio=${2:-} state=BACKUP peer
	peer=$(pair_peer "$node")
	if [ -z "$prio" ]; then
		if [ "$node" = fw1 ]; then prio=150; else prio=100; fi
	fi
	[ "$node" = fw1 ] && state=MASTER
	cat >"$LAB_DIR/keepalived-$node.conf" <<-EOF
		global_defs {
		    router_id nfflab-$node
		    # version 3 allows advertisement intervals below 1 s
		    vrrp_version 3
		    vrrp_garp_master_delay 1
		    vrrp_garp_master_repeat 3
		    vrrp_garp_master_refresh 0
		    vrrp_garp_interval 0.001
		    enable_script_security
		}
		vrrp_instance nfflab {
		    state $state
		    interface fw-sync
		    virtual_router_id $PAIR_VRID
		    priority $prio
		    advert_int $PAIR_ADVERT_INT
		    unicast_src_ip $(pair_ip "$node" sync)
		    unicast_peer {
		        $(pair_ip "$peer" sync)
		    }
		    track_interface {
		        fw-lan
		        fw-wan
		    }
		    virtual_ipaddress {
		        $PAIR_VIP_LAN/24 dev fw-lan
		        $PAIR_VIP_WAN/24 dev fw-wan
		    }
		}
	EOF
}

# Start keepalived (VRRP only, in the foreground, logging to its stderr,
# LAB_DIR/keepalived-NODE.err) in each node given (default both), with
# pid files of its own.  A configuration already written (e.g. another
# priority) is kept.
pair_keepalived_start() {
	local node
	# shellcheck disable=SC2086  # the node names, split
	[ $# -gt 0 ] || set -- $PAIR_NODES
	for node in "$@"; do
		[ -f "$LAB_DIR/keepalived-$node.conf" ] || pair_keepalived_config "$node"
		rm -f "$LAB_DIR/keepalived-$node".{pid,vrrp.pid,check.pid}
		lab_bg "keepalived-$node" "$node" keepalived -f "$LAB_DIR/keepalived-$node.conf" \
			-P -n -l -D -G \
			-p "$LAB_DIR/keepalived-$node.pid" \
			-r "$LAB_DIR/keepalived-$node.vrrp.pid" \
			-c "$LAB_DIR/keepalived-$node.check.pid"
	done
}

# The pid of node $1's VRRP child process (empty if none).
pair_keepalived_child() {
	cat "$LAB_DIR/keepalived-$1.vrrp.pid" 2>/dev/null || true
}

# Stop node $1's keepalived with SIGTERM: it gives the addresses up and
# advertises priority 0, so the peer takes over at once.
pair_keepalived_stop() {
	lab_stop "keepalived-$1" TERM || true
}

# The virtual addresses node $1 holds on links that are up, space separated
# (a crashed node keeps them on its downed links).
pair_vips() {
	local a out=""
	for a in "$PAIR_VIP_LAN" "$PAIR_VIP_WAN"; do
		if lab_ns "$1" ip -4 -o addr show up | grep -qF " $a/"; then
			out="${out:+$out }$a"
		fi
	done
	echo "$out"
}

# Wait (at most $2 s, default 10) until node $1 holds both virtual
# addresses and its peer none.
pair_wait_master() {
	local node=$1 limit=${2:-10} peer _ mine theirs
	peer=$(pair_peer "$node")
	for _ in $(seq 1 $((limit * 10))); do
		mine=$(pair_vips "$node")
		theirs=$(pair_vips "$peer")
		if [ "$mine" = "$PAIR_VIP_LAN $PAIR_VIP_WAN" ] && [ -z "$theirs" ]; then
			lab_log "$node is master (holds $mine)"
			return 0
		fi
		sleep 0.1
	done
	lab_log "$node not master after $limit s: $node holds '$mine', $peer '$theirs'"
	return 1
}

# For the tests (checks.sh): the pair up with conntrackd and keepalived,
# checked ($1 describes it) to have fw1 as master within 10 s; without
# one the test cannot go on, so it ends there with the VRRP logs.
pair_start_fw1_master() {
	pair_up
	pair_conntrackd_start
	pair_keepalived_start
	check "$1" pair_wait_master fw1 10
	if [ "$(pair_master)" != fw1 ]; then
		it_show "$LAB_DIR/keepalived-fw1.err" 40
		it_show "$LAB_DIR/keepalived-fw2.err" 40
		echo "$FAILS check(s) failed"
		exit 1
	fi
}

# Which node(s) hold the WAN virtual address now.
pair_master() {
	local node out=""
	for node in $PAIR_NODES; do
		case " $(pair_vips "$node") " in
		*" $PAIR_VIP_WAN "*) out="${out:+$out }$node" ;;
		esac
	done
	echo "$out"
}

# A planned switch-over from fw1 to fw2: "stop" (default) stops fw1's
# keepalived (it advertises priority 0 on the way out); "priority" reloads
# fw1's keepalived with priority 50, below fw2's 100.  Waits until fw2 is
# master (at most 10 s).
pair_switchover() {
	local how=${1:-stop}
	lab_log "switch-over fw1 -> fw2 ($how)"
	case $how in
	stop) pair_keepalived_stop fw1 ;;
	priority)
		pair_keepalived_config fw1 50
		kill -HUP "$(lab_pid keepalived-fw1)"
		;;
	*) lab_log "pair_switchover: stop or priority, not $how"; return 2 ;;
	esac
	pair_wait_master fw2 10
}

# A crash of node $1 (default fw1): its daemons (keepalived and its VRRP
# child, conntrackd, nfflowd) frozen at once, its LAN and WAN links taken
# down, then the daemons killed with SIGKILL.  The sync link stays up: a
# veth end down takes the peer's end down too, which would put the peer's
# keepalived (whose instance runs on it) in FAULT.  Then waits until the
# peer is master (at most 10 s).  The virtual addresses stay configured on
# the dead node's downed links, as after a power cut.
pair_crash() {
	local node=${1:-fw1} pids="" p name
	for name in "keepalived-$node" "conntrackd-$node" "nfflowd-$node"; do
		p=$(lab_pid "$name") || true
		[ -n "$p" ] && pids="$pids $p"
	done
	p=$(pair_keepalived_child "$node")
	[ -n "$p" ] && pids="$pids $p"
	lab_log "crash of $node: freezing pids$pids, links down, SIGKILL"
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -STOP $pids 2>/dev/null || true
	lab_ns "$node" ip link set fw-lan down
	lab_ns "$node" ip link set fw-wan down
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	for name in "keepalived-$node" "conntrackd-$node" "nfflowd-$node"; do
		lab_stop "$name" KILL || true
	done
	rm -f "$LAB_DIR/conntrackd-$node.lock" "$LAB_DIR/conntrackd-$node.ctl"
	pair_wait_master "$(pair_peer "$node")" 10
}

# Bring fw1 back as master after pair_switchover or pair_crash: the stale
# virtual addresses of a crash removed, its links up, conntrackd started
# (if it is not running) and asked for a resync from fw2, keepalived
# started with priority 150 (preempting fw2).  Waits until fw1 is master
# (at most 10 s).  nfflowd is not restarted: call pair_daemon_start.
pair_failback() {
	local a
	lab_log "failback to fw1"
	lab_stop keepalived-fw1 TERM || true
	for a in "$PAIR_VIP_LAN/24 dev fw-lan" "$PAIR_VIP_WAN/24 dev fw-wan"; do
		# shellcheck disable=SC2086
		lab_ns fw1 ip addr del $a 2>/dev/null || true
	done
	lab_ns fw1 ip link set fw-lan up
	lab_ns fw1 ip link set fw-wan up
	if [ -z "$(lab_pid conntrackd-fw1)" ]; then
		pair_conntrackd_start fw1
		pair_conntrackd fw1 -n >/dev/null 2>&1 || lab_log "conntrackd -n in fw1 failed"
	fi
	pair_keepalived_config fw1
	pair_keepalived_start fw1
	pair_wait_master fw1 10
}

# After pair_crash NODE: what a reboot of node $1 loses, its kernel's
# conntrack table (`conntrack -F`: the node's oracle gets a DESTROY with
# what each entry counted, caused by that request).
pair_table_lost() {
	lab_log "$1's conntrack table lost (flushed)"
	lab_ns "$1" conntrack -F >/dev/null 2>&1 || true
}

# Bring node $1's links back after pair_crash, without its stale virtual
# addresses; no daemon is started.
pair_links_up() {
	local a
	for a in "$PAIR_VIP_LAN/24 dev fw-lan" "$PAIR_VIP_WAN/24 dev fw-wan"; do
		# shellcheck disable=SC2086
		lab_ns "$1" ip addr del $a 2>/dev/null || true
	done
	lab_ns "$1" ip link set fw-lan up
	lab_ns "$1" ip link set fw-wan up
}

# Start node $1's conntrackd (if it is not running) and ask its peer for
# the whole table (conntrackd -n), as after a reboot.
pair_resync() {
	if [ -z "$(lab_pid "conntrackd-$1")" ]; then
		pair_conntrackd_start "$1" || return 1
	fi
	pair_conntrackd "$1" -n >/dev/null 2>&1 || {
		lab_log "conntrackd -n in $1 failed"
		return 1
	}
}

# ---------------------------------------------------------------- conntrackd

# Write conntrackd's configuration of node $1 to LAB_DIR/conntrackd-NODE.conf:
# FTFW over UDP on the sync link, the peer's entries injected straight into
# the kernel (DisableExternalCache On), TCP, UDP and ICMP; connections of
# the firewalls' own addresses (real, virtual, sync) ignored.  Its log,
# lock file and control socket are under LAB_DIR.
pair_conntrackd_config() {
	local node=$1 peer
	peer=$(pair_peer "$node")
	cat >"$LAB_DIR/conntrackd-$node.conf" <<-EOF
		Sync {
		    Mode FTFW {
		        DisableExternalCache On
		    }
		    UDP {
		        IPv4_address $(pair_ip "$node" sync)
		        IPv4_Destination_Address $(pair_ip "$peer" sync)
		        Port $PAIR_SYNC_PORT
		        Interface fw-sync
		        SndSocketBuffer 1249280
		        RcvSocketBuffer 1249280
		        Checksum on
		    }
		}
		General {
		    Systemd off
		    HashSize 8192
		    HashLimit 65536
		    LogFile $LAB_DIR/conntrackd-$node.log
		    Syslog off
		    LockFile $LAB_DIR/conntrackd-$node.lock
		    UNIX {
		        Path $LAB_DIR/conntrackd-$node.ctl
		    }
		    NetlinkBufferSize 2097152
		    NetlinkBufferSizeMaxGrowth 8388608
		    Filter From Userspace {
		        Protocol Accept {
		            TCP
		            UDP
		            ICMP
		        }
		        Address Ignore {
		            IPv4_address 127.0.0.1
		            IPv4_address $PAIR_VIP_LAN
		            IPv4_address $PAIR_VIP_WAN
		            IPv4_address $(pair_ip fw1 lan)
		            IPv4_address $(pair_ip fw1 wan)
		            IPv4_address $(pair_ip fw1 sync)
		            IPv4_address $(pair_ip fw2 lan)
		            IPv4_address $(pair_ip fw2 wan)
		            IPv4_address $(pair_ip fw2 sync)
		        }
		    }
		}
	EOF
}

# Run conntrackd's client side of node $1: pair_conntrackd NODE -s ...
# (bounded 10 s).
pair_conntrackd() {
	local node=$1
	shift
	lab_ns "$node" timeout 10 conntrackd -C "$LAB_DIR/conntrackd-$node.conf" "$@"
}

# Start conntrackd in the foreground in each node given (default both) and
# wait (at most 5 s each) until its control socket answers.
pair_conntrackd_start() {
	local node _ ok
	# shellcheck disable=SC2086  # the node names, split
	[ $# -gt 0 ] || set -- $PAIR_NODES
	for node in "$@"; do
		[ -f "$LAB_DIR/conntrackd-$node.conf" ] || pair_conntrackd_config "$node"
		rm -f "$LAB_DIR/conntrackd-$node.lock"
		lab_bg "conntrackd-$node" "$node" conntrackd -C "$LAB_DIR/conntrackd-$node.conf"
		ok=0
		for _ in $(seq 1 50); do
			if [ -S "$LAB_DIR/conntrackd-$node.ctl" ] &&
				pair_conntrackd "$node" -s >/dev/null 2>&1; then
				ok=1
				break
			fi
			sleep 0.1
		done
		if [ $ok != 1 ]; then
			lab_log "conntrackd in $node does not answer after 5 s:"
			cat "$LAB_DIR/conntrackd-$node.err" "$LAB_DIR/conntrackd-$node.log" >&2 || true
			return 1
		fi
	done
}

# Stop node $1's conntrackd (SIGTERM, it removes its lock file).
pair_conntrackd_stop() {
	lab_stop "conntrackd-$1" TERM || true
}

# Wait (at most $3 s, default 5) until node $1's kernel table has an entry
# whose `conntrack -L` line contains the fixed string $2; print that line.
pair_wait_synced() {
	local node=$1 what=$2 limit=${3:-5} _ line
	for _ in $(seq 1 $((limit * 20))); do
		line=$(lab_ns "$node" conntrack -L 2>/dev/null | grep -F -- "$what") || true
		if [ -n "$line" ]; then
			printf '%s\n' "$line"
			return 0
		fi
		sleep 0.05
	done
	lab_log "no entry with '$what' in $node's table after $limit s"
	return 1
}

# ---------------------------------------------------------------- nfflowd

# Write nfflowd's configuration of node $1 to LAB_DIR/nfflowd-NODE.json:
# exporting from the node's own WAN address (never the virtual one, which
# moves) to the collector on wan, engine id and observation domain 1 for
# fw1, 2 for fw2; extra JSON members may be passed as $2.
pair_daemon_config() {
	local node=$1 extra=${2:-} id
	id=${node#fw}
	[ -n "$extra" ] && extra=", $extra"
	cat >"$LAB_DIR/nfflowd-$node.json" <<-EOF
		{
		  "source": "$(pair_ip "$node" wan)",
		  "collector": "$LAB_WAN_IP",
		  "port": $LAB_COLLECTOR_PORT,
		  "engine_id": $id,
		  "observation_domain": $id,
		  "stdout": true,
		  "flush_interval": 0.2,
		  "pidfile": "$LAB_DIR/nfflowd-$node.pid",
		  "control_socket": "$LAB_DIR/nfflowd-$node.sock",
		  "state_file": "$LAB_DIR/nfflowd-$node.state",
		  "syslog": {"enabled": false}$extra
		}
	EOF
}

# Run nfflowd's client side in node $1: pair_nfflowd NODE COMMAND...
# (bounded 20 s).
pair_nfflowd() {
	local node=$1
	shift
	lab_ns "$node" timeout 20 "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd-$node.json" "$@"
}

# Start `nfflowd -f start` ($LAB_NFFLOWD, i.e. $NFFLOWD) in each node given
# (default both), as nfflowd-NODE (stdout LAB_DIR/nfflowd-NODE.out), and
# wait until each is ready.  A configuration already written is kept.
pair_daemon_start() {
	local node
	# shellcheck disable=SC2086  # the node names, split
	[ $# -gt 0 ] || set -- $PAIR_NODES
	for node in "$@"; do
		[ -f "$LAB_DIR/nfflowd-$node.json" ] || pair_daemon_config "$node"
		lab_bg "nfflowd-$node" "$node" "${LAB_DAEMON_WRAPPER[@]}" "$LAB_NFFLOWD" \
			-c "$LAB_DIR/nfflowd-$node.json" -f start
		lab_daemon_wait_ready "nfflowd-$node" || return 1
	done
}

# Stop nfflowd in each node given (default both, those not running are
# skipped) with `nfflowd stop` and collect its exit status.
pair_daemon_stop() {
	local node rc=0 st
	# shellcheck disable=SC2086  # the node names, split
	[ $# -gt 0 ] || set -- $PAIR_NODES
	for node in "$@"; do
		[ -n "$(lab_pid "nfflowd-$node")" ] || continue
		pair_nfflowd "$node" stop >"$LAB_DIR/stop-$node.out" 2>&1 || {
			lab_log "nfflowd stop in $node failed:"
			cat "$LAB_DIR/stop-$node.out" >&2
		}
		st=0
		lab_wait_exit "nfflowd-$node" 10 || st=$?
		if [ $st != 0 ]; then
			lab_log "nfflowd in $node exited with status $st; its stderr:"
			tail -n 20 "$LAB_DIR/nfflowd-$node.err" >&2
			lab_stop "nfflowd-$node" KILL || true
			rc=1
		fi
	done
	return $rc
}

# ---------------------------------------------------------------- oracles

# conntrack -E in both firewalls (lab.sh's oracle format): LAB_DIR/
# oracle-fw1-text.out, oracle-fw1-xml.out, oracle-fw2-...
pair_oracle_start() {
	local node
	for node in $PAIR_NODES; do
		lab_oracle_start "$node"
	done
}

pair_oracle_stop() {
	local node
	for node in $PAIR_NODES; do
		lab_oracle_stop "$node"
	done
}

# Wait until neither firewall's table has an entry (at most $1 s each,
# default 10).
pair_ct_drain() {
	local node rc=0
	for node in $PAIR_NODES; do
		lab_ct_drain_in "$node" "${1:-10}" || rc=1
	done
	return $rc
}

# lab_down's first step: stop the daemons of both nodes in order (SIGTERM,
# each waited for), so that keepalived takes its VRRP child with it and
# conntrackd removes its lock file; lab_down kills what is left.
pair_down_daemons() {
	local node
	for node in $PAIR_NODES; do
		lab_stop "nfflowd-$node" TERM || true
		lab_stop "keepalived-$node" TERM || true
		lab_stop "conntrackd-$node" TERM || true
	done
}

# ---------------------------------------------------------------- collector

# The records the collector stored that node $1 exported (by its exporter
# address), in lab.sh's LAB_NFDUMP_FMT ('|' separated; the exporter is
# field 10); with no node, every record.
pair_exports() {
	local ip=""
	[ -n "${1:-}" ] && ip=$(pair_ip "$1" wan)
	lab_collector_dump | tr -d ' ' | awk -F'|' -v ip="$ip" 'ip == "" || $10 == ip'
}

# Everything the collector stored as `nfdump -o json`, in
# LAB_DIR/collector.json (call after lab_collector_stop).
pair_collector_json() {
	TZ=UTC nfdump -R "$LAB_DIR/flows" -N -o json >"$LAB_DIR/collector.json"
}

# Node $1 as paircheck.py's --node takes it: NAME=EXPORTER_IP=ORACLE_TEXT.
pair_node_spec() {
	echo "$1=$(pair_ip "$1" wan)=$LAB_DIR/oracle-$1-text.out"
}

# Run the pair checks (paircheck.py) with the given arguments.
pair_check() {
	"$LAB_PY" "$LAB_SRC_DIR/paircheck.py" "$@"
}

# Check that node $1 exported every connection of its oracle that matches
# the selections (PROTO:DST:DPORT ...) and that its kernel ended, with the
# kernel's counters (paircheck.py exported --kernel-only).
pair_check_exported() {
	local node=$1 s args=()
	shift
	for s in "$@"; do
		args+=(--select "$s")
	done
	pair_check exported --nfdump-json "$LAB_DIR/collector.json" \
		--exporter "$(pair_ip "$node" wan)" \
		--ct-text "$LAB_DIR/oracle-$node-text.out" --kernel-only "${args[@]}"
}

# Number of records node $1 exported with 0 packets (today: the entries
# conntrackd injected into its kernel, as they end).
pair_zero_exports() {
	pair_exports "$1" | awk -F'|' '$8 == 0' | grep -c . || true
}
