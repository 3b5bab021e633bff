#!/bin/bash
# Where the command line writes (SPEC section 1, issue 12): the reason of
# every failure on stderr, naming the file (and the key, or the line and
# column of a JSON syntax error); the report of `check` on stdout; exit 1 for
# runtime and configuration errors, 2 for usage errors.  No lab: every case
# runs on files of a private directory, with no daemon.  As root the kernel
# settings are also checked in a private network namespace.
#   usage: NFFLOWD=build/nfflowd tests/integration/cli_stderr.sh
. "$(dirname "$0")/common.sh"

W=$(mktemp -d /tmp/nffcli.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
PIDFILE=$W/nfflowd.pid
SOCK=$W/nfflowd.sock
PATHS="\"pidfile\": \"$PIDFILE\", \"control_socket\": \"$SOCK\""

OUT=
ERR=
RC=0
WHAT=
RUN_AS=()

# run WHAT ARGS...: runs nfflowd with ARGS (under the command in the array
# RUN_AS, if any); sets OUT (stdout), ERR (stderr) and RC.
run() {
	WHAT=$1
	shift
	RC=0
	"${RUN_AS[@]}" timeout 20 "$LAB_NFFLOWD" "$@" >"$W/out" 2>"$W/err" || RC=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
}

# Shows both streams of the last run, for a failed check.
show() {
	printf '  stdout | %s\n' "$OUT"
	printf '  stderr | %s\n' "$ERR"
}

# expect OK_TEXT FAIL_TEXT COMMAND...: a check of the last run, passed
# when COMMAND succeeds; a failure shows both streams.
expect() {
	local ok=$1 bad=$2
	shift 2
	if "$@"; then
		echo "ok: $WHAT: $ok"
	else
		fail "$WHAT: $bad"
		show
	fi
}
matches() { grep -qiE -- "$1" <<<"$2"; }	# REGEX TEXT, case-insensitive
lacks() { ! matches "$@"; }

# rc_is N: the last run exited N.
rc_is() { expect "exit $1" "exit $RC, expected $1" [ "$RC" = "$1" ]; }
# err_has / out_has REGEX DESCRIPTION: stderr / stdout matches REGEX.
err_has() { expect "stderr $2" "stderr does not match /$1/ ($2)" matches "$1" "$ERR"; }
out_has() { expect "stdout $2" "stdout does not match /$1/ ($2)" matches "$1" "$OUT"; }
# out_lacks REGEX DESCRIPTION: no line of stdout matches REGEX.
out_lacks() { expect "stdout has no $2" "stdout has $2" lacks "$1" "$OUT"; }
# out_empty, err_empty: nothing on stdout / stderr.
out_empty() { expect "stdout empty" "stdout not empty" [ -z "$OUT" ]; }
err_empty() { expect "stderr empty" "stderr not empty" [ -z "$ERR" ]; }

# no_error_on_stdout: no line of stderr is also on stdout, and stdout holds
# no error line: no "nfflowd:" message, no config verdict but OK.
no_error_on_stdout() {
	local line
	while IFS= read -r line; do
		if [ -n "$line" ] && grep -qxF -- "$line" <<<"$OUT"; then
			fail "$WHAT: stdout repeats the stderr line '$line'"
			show
			return 0
		fi
	done <<<"$ERR"
	if grep -E '^(nfflowd|config): ' <<<"$OUT" | grep -qvE '^config: .* OK \('; then
		fail "$WHAT: stdout has an error line"
		show
	else
		echo "ok: $WHAT: stdout has no error line"
	fi
}

# check_fails FILE REASON_REGEX DESCRIPTION: `check` of FILE exits 1 with
# the reason on stderr, and the rest of its report on stdout.
check_fails() {
	local file=$1 re=$2 what=$3
	run "check, $what" -c "$file" check
	rc_is 1
	err_has "^config: .*$re" "gives the reason"
	no_error_on_stdout
	out_has '^daemon: ' "still reports the daemon"
}

# write NAME TEXT: writes TEXT to $W/NAME.
write() {
	printf '%s\n' "$2" >"$W/$1"
}

write valid.json "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055, $PATHS}"
write syntax.json "{
  \"source\": \"192.0.2.1\",
  \"collector\": \"198.51.100.5\",,
  \"port\": 2055
}"
write unknown.json "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055, \"colector\": \"x\", $PATHS}"
write range.json "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 70000, $PATHS}"
write address.json "{\"source\": \"192.0.2.1\", \"collector\": \"1.2.3\", \"port\": 2055, $PATHS}"
write args.json "{\"args\": [\"192.0.2.1\", \"198.51.100.5\", 70000], $PATHS}"
write general.conf "args 192.0.2.1 198.51.100.5 2055"
write nosetup.json "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055, \"kernel_setup\": false, $PATHS}"
chmod 644 "$W"/*	# readable by the unprivileged cases below

# --- check: each broken configuration
check_fails "$W/missing.json" "missing\.json: no such file" "missing file"
check_fails "$W/syntax.json" "syntax\.json: line 3, column [0-9]+" "invalid JSON"
check_fails "$W/unknown.json" "unknown\.json: .*'colector'" "unknown key"
check_fails "$W/range.json" "range\.json: key 'port'.*70000" "out-of-range port"
check_fails "$W/address.json" "address\.json: key 'collector': '1\.2\.3'" "bad address"
check_fails "$W/args.json" "args\.json: key 'args'.*70000" "legacy args with a bad port"
check_fails "$W/general.conf" \
	'general\.conf: .*old .*format.*"source": "192\.0\.2\.1", "collector": "198\.51\.100\.5", "port": 2055' \
	"Config::General text"

# --- check: a valid file, no daemon
run "check, valid file" -c "$W/valid.json" check
rc_is 0
out_has "^config: .*valid\.json OK" "gives the verdict"
out_has '^daemon: not running$' "reports the daemon"
out_has '^kernel: net\.netfilter\.nf_conntrack_acct' "reports nf_conntrack_acct"
# CAP_NET_ADMIN is bit 12 of the effective set.
cap_eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
if [ -w /proc/sys/net/netfilter/nf_conntrack_acct ] &&
	(( (16#${cap_eff:-0} >> 12) & 1 )); then
	err_empty
else
	# Unprivileged or without nf_conntrack: only those lines may complain.
	if grep -vqE '^(privileges|kernel): |^        to fix: ' <<<"$ERR"; then
		fail "$WHAT: stderr has more than kernel and privilege lines"
		show
	else
		echo "ok: $WHAT: stderr holds kernel and privilege lines only (no root or no nf_conntrack here)"
	fi
fi

# --- reload: broken or missing file, or no daemon: nothing signalled
run "reload, bad address" -c "$W/address.json" reload
rc_is 1
err_has "address\.json: key 'collector'" "names file and key"
out_empty
run "reload, invalid JSON" -c "$W/syntax.json" reload
rc_is 1
err_has "syntax\.json: line 3, column [0-9]+" "names file, line and column"
out_empty
run "reload, missing file" -c "$W/missing.json" reload
rc_is 1
err_has "missing\.json: no such file" "names the file"
out_empty
run "reload, no daemon" -c "$W/valid.json" reload
rc_is 1
err_has "not running.*nfflowd\.pid" "says nothing runs on the pidfile"
out_empty

# --- --dump-state: no daemon, with a valid, a broken and a missing file
run "--dump-state, no daemon" -c "$W/valid.json" --dump-state
rc_is 1
err_has "no daemon answers on .*nfflowd\.sock" "names the socket"
out_empty
run "--dump-state --json, no daemon" -c "$W/valid.json" --dump-state --json
rc_is 1
err_has "no daemon answers on .*nfflowd\.sock" "names the socket"
out_empty
run "--dump-state, bad address" -c "$W/address.json" --dump-state
rc_is 1
err_has "address\.json: key 'collector'" "names file and key"
err_has "nfflowd\.sock" "names the socket it tried"
out_empty
run "--dump-state, missing file" -c "$W/missing.json" --dump-state
rc_is 1
err_has "missing\.json: no such file" "names the file"
out_empty

# --- start, stop and restart with a broken file and no daemon
run "start, bad address" -c "$W/address.json" start
rc_is 1
err_has "address\.json: key 'collector'" "names file and key"
out_empty
run "start, missing file" -c "$W/missing.json" start
rc_is 1
err_has "missing\.json: no such file" "names the file"
out_empty
run "stop, bad address" -c "$W/address.json" stop
rc_is 0
err_has "address\.json: key 'collector'" "names file and key"
out_has '^nfflowd is not running$' "says nothing runs"
no_error_on_stdout
run "restart, bad address" -c "$W/address.json" restart
rc_is 1
err_has "address\.json: key 'collector'" "names file and key"
no_error_on_stdout

# --- usage errors: exit 2, message on stderr, nothing on stdout
run "unknown command" -c "$W/valid.json" frobnicate
rc_is 2
err_has "unknown command 'frobnicate'" "names the command"
out_empty
run "unknown option" --no-such-option
rc_is 2
err_has "no-such-option" "names the option"
out_empty
run "no command" -c "$W/valid.json"
rc_is 2
err_has "no command" "says so"
out_empty
run "two commands" -c "$W/valid.json" check stop
rc_is 2
err_has "one command at a time" "says so"
out_empty
run "-f with check" -f -c "$W/valid.json" check
rc_is 2
err_has "-f goes with start or restart" "says so"
out_empty
run "--json without --dump-state" --json -c "$W/valid.json" check
rc_is 2
err_has "--json and --format go with --dump-state" "says so"
out_empty
run "--dump-state with a command" -c "$W/valid.json" --dump-state check
rc_is 2
err_has "--dump-state takes no command" "says so"
out_empty

# --- as root: kernel settings in a private network namespace (where they
# can be switched off without touching the host), and an unprivileged user.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
	! unshare -n true 2>/dev/null ||
	! unshare -n sh -c 'test -w /proc/sys/net/netfilter/nf_conntrack_acct'; then
	echo "skip: kernel setting cases (need root, unshare -n and nf_conntrack)"
else
	# shellcheck disable=SC2016  # expanded by that sh
	RUN_AS=(unshare -n sh -c 'echo 0 >/proc/sys/net/netfilter/nf_conntrack_acct && exec "$@"' sh)
	run "check, acct off, kernel_setup on" -c "$W/valid.json" check
	rc_is 0
	out_has '^kernel: net\.netfilter\.nf_conntrack_acct = 0 .*off' "reports acct off"
	if grep -A1 '^kernel: net\.netfilter\.nf_conntrack_acct' <<<"$OUT" |
		grep -q '^        nfflowd sets it to 1 at start'; then
		echo "ok: $WHAT: stdout says nfflowd switches it on itself"
	else
		fail "$WHAT: stdout does not say nfflowd switches acct on"
		show
	fi
	err_empty

	# SPEC §1: a prerequisite that stays off makes check fail (exit 1).
	run "check, acct off, kernel_setup off" -c "$W/nosetup.json" check
	rc_is 1
	err_has '^check: failed: ' "says that it fails, and why"
	out_has "^config: .*nosetup\.json OK" "gives the verdict"
	err_has '^kernel: net\.netfilter\.nf_conntrack_acct = 0 .*off' "reports acct off"
	err_has '^        to fix: sysctl -w net\.netfilter\.nf_conntrack_acct=1 \(kernel_setup is off\)' \
		"says how to fix it"
	out_lacks 'nf_conntrack_acct' "acct line"

	if command -v setpriv >/dev/null; then
		DROP=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
		RUN_AS+=("${DROP[@]}")
		run "check, acct off, unprivileged" -c "$W/valid.json" check
		rc_is 1
		out_has "^config: .*valid\.json OK" "gives the verdict"
		out_has '^daemon: not running$' "reports the daemon"
		err_has '^privileges: CAP_NET_ADMIN missing' "reports the capability"
		err_has '^kernel: net\.netfilter\.nf_conntrack_acct = 0 .*off' "reports acct off"
		err_has '^        to fix: sysctl -w net\.netfilter\.nf_conntrack_acct=1 \(nfflowd cannot write it here\)' \
			"says nfflowd cannot switch it on"
		err_has '^privileges: cannot write /proc/sys/net/netfilter' "reports the write access"
		out_lacks 'nfflowd sets it to 1' "promise nfflowd cannot keep"

		RUN_AS=("${DROP[@]}")
		run "install, unprivileged" -c "$W/valid.json" install
		rc_is 1
		err_has "must run as root" "says why"
		out_empty
	else
		echo "skip: unprivileged cases (no setpriv)"
	fi
	RUN_AS=()
fi

if [ "$FAILS" != 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
