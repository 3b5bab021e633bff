#!/bin/bash
# Every program the demo, the lab and the tests run comes from the one
# package list, tests/packages.txt (which tests/deps.sh installs with
# --no-install-recommends): a program added to the lab or to a test without
# its package makes this test fail, instead of the demo or the suite failing
# later on a fresh machine (`exec of "ping" failed`).
#
# The programs, from three sources:
#   trace  the quick-start demo (tests/lab/demo.sh, with a build of its own)
#          run under `strace -f -e trace=execve`: every program it executed
#          successfully, and the interpreter of each script it executed;
#   decl   the names that the tests declare they need: the arguments of
#          every `lab_require` and of every `for tool in ...` loop in tests/;
#   scan   the command names in the shell scripts of tests/ and in
#          packaging/build-deb.sh (which the package test runs), read by a
#          quote-, here-document- and comment-aware scanner and kept when
#          bash would run them as a program found on PATH (not a builtin,
#          keyword or function).
# Each is resolved (PATH, realpath) and looked up with `dpkg -S` (with and
# without the merged-/usr prefix). Its package is accepted when it is on the
# list, is Essential: yes or Priority: required (on every Debian system), or
# is installed as a Depends/Pre-Depends of a listed package (the transitive
# closure on this machine, which is what `apt-get install
# --no-install-recommends` of the list guarantees). The programs of the
# project itself (the source tree, the build directories) are left out.
#
# Then a self-check: with iputils-ping taken off the list, ping must be
# refused, so the check is known to be able to fail.
#
#   usage: NFFLOWD=build/nfflowd tests/integration/programs.sh
#   NFFLOWD_PACKAGES_LIST=FILE checks against another list (default
#   tests/packages.txt); the demo and the tests still use the real one.
#
# Needs root and network namespaces (the demo builds the lab); skips (77)
# without them, without strace or dpkg, or when a package of the list is
# not installed (tests/deps.sh installs them; this test installs nothing).
. "$(dirname "$0")/common.sh"
# The PATH of root on a fresh Debian system: a program found elsewhere (a
# ~/.local or pyenv of this machine) is not what a fresh machine runs.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
lab_require strace dpkg dpkg-query
SRC=$NFFLOWD_SRCDIR
LIST=${NFFLOWD_PACKAGES_LIST:-$SRC/tests/packages.txt}
if [ ! -r "$LIST" ]; then
	echo "FAIL: cannot read the package list $LIST"
	exit 1
fi

if ! missing=$("$SRC/tests/deps.sh" --check "$LIST"); then
	echo "SKIP: not installed from $LIST: $missing (tests/deps.sh installs them)" >&2
	exit 77
fi
if ! strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null; then
	echo "SKIP: strace cannot trace here" >&2
	exit 77
fi

WORK=$(mktemp -d /tmp/nfflowd-programs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/trace"

echo "== the demo under strace (its build in $WORK/build)"
rc=0
BUILD_DIR=$WORK/build strace -f -ff --seccomp-bpf -qq -e trace=execve -e signal=none \
	-o "$WORK/trace/exec" timeout 240 "$SRC/tests/lab/demo.sh" >"$WORK/demo.log" 2>&1 || rc=$?
if [ $rc = 0 ]; then
	echo "ok: the demo ran ($(grep -c '^==>' "$WORK/demo.log") sections of output)"
else
	echo "FAIL: the demo exited $rc; its last lines:"
	tail -n 25 "$WORK/demo.log"
fi

# The shell scripts the scanner reads.
scripts=()
while IFS= read -r -d '' f; do
	scripts+=("$f")
done < <(find "$SRC/tests" -name '*.sh' -type f -print0 | sort -z)
scripts+=("$SRC/packaging/build-deb.sh")

prc=0
"$LAB_PY" "$LAB_SRC_DIR/programs.py" "$LIST" "$SRC" "$WORK" "$(dirname "$LAB_NFFLOWD")" "$rc" \
	"$(compgen -b -k | tr '\n' ' ')" "${scripts[@]}" || prc=$?
if [ $prc != 0 ]; then
	trap - EXIT
	echo "work dir kept: $WORK"
	exit 1
fi
echo "all checks passed"
