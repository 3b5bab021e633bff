# Pass/fail bookkeeping for the test scripts (sourced). FAILS counts the
# failed checks; each check prints one "ok:" or "FAIL:" line and returns 0,
# so that scripts under `set -e` go on to the next check.
FAILS=0

# fail WHAT: record a failed check and print it.
fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# check WHAT COMMAND...: a condition that must hold.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		fail "$what"
	fi
}
