# shellcheck shell=bash
# The Debian package of this source tree, for the tests that install it
# (tests/integration/package.sh on this machine, systemd_unit.sh in a
# container).  Source it; DEB_SRC is the source tree (default: the one this
# file is in).

DEB_SRC=${DEB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck disable=SC2034 # set for the caller
DEB_FILE=

# deb_build OUTDIR LOG: build the package from the working tree
# (packaging/build-deb.sh) into OUTDIR, its output in LOG; set DEB_FILE to
# the .deb.  On failure print the end of the log and "FAIL: ..." and return 1.
deb_build() {
	local out=$1 log=$2
	# shellcheck disable=SC2034 # set for the caller
	DEB_FILE=
	if ! "$DEB_SRC/packaging/build-deb.sh" "$out" >"$log" 2>&1; then
		tail -40 "$log"
		echo "FAIL: dpkg-buildpackage"
		return 1
	fi
	# shellcheck disable=SC2034 # set for the caller
	DEB_FILE=$(ls "$out"/nfflowd_*.deb)
}

# deb_depends DEB: the packages DEB depends on, one a line: the first of
# each set of alternatives, without version.
deb_depends() {
	dpkg-deb -f "$1" Pre-Depends Depends |
		sed -e 's/^[A-Za-z-]*: //' | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
		grep . | sort -u
}
