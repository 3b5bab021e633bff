#!/bin/sh
# Builds the Debian package from this source tree: copies the tree (the
# working tree's tracked and untracked files that git does not ignore, or
# with --head the committed HEAD) to a scratch directory, puts
# packaging/debian there as ./debian and runs dpkg-buildpackage -us -uc -b.
# The .deb (and .buildinfo/.changes) end up in OUTDIR.
#   usage: packaging/build-deb.sh [--head] OUTDIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
from="worktree"
if [ "${1:-}" = --head ]; then
	from="head"
	shift
fi
[ $# = 1 ] || { echo "usage: $0 [--head] OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
scratch=$(mktemp -d /tmp/nfflowd-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
src=$scratch/nfflowd
mkdir "$src"
if [ "$from" = head ]; then
	git -C "$top" archive --format=tar HEAD | tar -x -C "$src"
else
	# shellcheck disable=SC2016 # the inner sh expands "$f"
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		(cd "$top" && tar --null -T - -cf -) | tar -x -C "$src"
fi
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"
(cd "$src" && dpkg-buildpackage -us -uc -b)
for f in "$scratch"/*.deb "$scratch"/*.buildinfo "$scratch"/*.changes; do
	[ -e "$f" ] && cp "$f" "$out/"
done
ls "$out"/*.deb
