#!/bin/sh
# Puts the source tarball of each wrap in subprojects/ (jansson, libevent)
# into subprojects/packagecache/, where meson takes it instead of downloading
# it: the file named by the wrap's source_filename is Debian 12's orig
# tarball of that package, fetched with `apt-get source --download-only` from
# the Debian mirror this machine's apt already uses, and kept only if its
# sha256 is the wrap's source_hash.
#
# apt runs on private state: a deb822 file with one deb-src entry (the URI and
# Signed-By of the configured Debian entry with main, suite bookworm), and its
# own lists and cache directories in a temporary directory. The system's
# sources, lists and caches are read or written by nothing here. Needs no
# root; as root the download runs as apt's usual _apt user.
#
#   fetch-sources.sh            fetches what is missing or wrong; quiet when
#                               every tarball is already there. Also removes
#                               an unpacked tree older than its packagefiles/
#   fetch-sources.sh --check    fetches nothing: exits 1 naming the missing
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/packagecache
suite=bookworm	# the Debian release whose versions the wraps name

wrap_value() {	# wrap file, key
	sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | head -n 1
}

sha256() {
	sha256sum "$1" | cut -d' ' -f1
}

# The wraps whose tarball is not in the cache with the right hash, as
# "source_filename source_hash" lines.
missing() {
	for w in "$here"/*.wrap; do
		f=$(wrap_value "$w" source_filename)
		h=$(wrap_value "$w" source_hash)
		[ -n "$f" ] || continue
		if [ ! -f "$cache/$f" ] || [ "$(sha256 "$cache/$f")" != "$h" ]; then
			echo "$f $h"
		fi
	done
}

# meson lays packagefiles/ over a tarball only when it unpacks it: a tree
# unpacked before they or the wrap changed goes, and the next configure
# unpacks it anew.
for w in "$here"/*.wrap; do
	d=$(wrap_value "$w" directory)
	p=$(wrap_value "$w" patch_directory)
	if [ -z "$d" ] || [ -z "$p" ] || [ ! -d "$here/$d" ]; then
		continue
	fi
	{
		[ "$(cat "$here/$d/.meson-subproject-wrap-hash.txt" 2>/dev/null)" = "$(sha256 "$w")" ] ||
			echo stale
		(cd "$here/packagefiles/$p" && find . -type f) | while read -r f; do
			cmp -s "$here/packagefiles/$p/$f" "$here/$d/$f" || { echo stale; break; }
		done
	} | grep -q stale && rm -rf "${here:?}/$d"
done

todo=$(missing)
[ -z "$todo" ] && exit 0
if [ "${1:-}" = --check ]; then
	echo "$todo" | cut -d' ' -f1
	exit 1
fi

# The configured Debian entry of type deb with component main, as a deb-src
# stanza for $suite: from deb822 .sources files first, then one-line lists.
# Signed-By is copied as written (a key file or an inline key block).
source_entry() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ &&
			    uris != "" && uris !~ /security/ && enabled != "no" && !done) {
				split(uris, u, " ")
				print "Types: deb-src"; print "URIs: " u[1]
				print "Suites: " suite; print "Components: main"
				if (signed != "") printf "Signed-By:%s", signed
				done = 1
			}
			types = uris = comps = signed = enabled = ""; key = ""
		}
		/^[[:space:]]*#/ { next }
		/^[[:space:]]*$/ { flush(); next }
		/^[ \t]/ { if (key == "signed-by") signed = signed $0 "\n"; next }
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "components") comps = val
			else if (key == "enabled") enabled = tolower(val)
			else if (key == "signed-by") signed = (val == "" ? "\n" : " " val "\n")
		}
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
		$1 == "deb" && !done {
			opts = ""; i = 2
			if ($2 ~ /^\[/) {
				while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) break; i++ }
				i++
			}
			uri = $i; main = 0
			for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
			if (!main || uri ~ /security/) next
			print "Types: deb-src"; print "URIs: " uri
			print "Suites: " suite; print "Components: main"
			if (match(opts, /signed-by=[^] ]+/))
				print "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10)
			if (opts ~ /trusted=yes/) print "Trusted: yes"
			done = 1
		}' "$f"
	done
}

entry=$(source_entry | awk 'NR > 1 && /^Types:/ { exit } { print }')
if [ -z "$entry" ]; then
	echo "fetch-sources: no Debian entry with main in /etc/apt/sources.list{,.d}:" \
		"put these files into $cache by hand:" >&2
	echo "$todo" | cut -d' ' -f1 >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/nfflowd-sources.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
chmod 755 "$tmp"
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/dl"
printf '%s\n' "$entry" >"$tmp/parts/nfflowd-src.sources"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$tmp/dl"
fi
apt_private() {
	apt-get -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/parts" \
		-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" "$@"
}
pkgs=$(echo "$todo" | sed 's/_.*//' | sort -u | tr '\n' ' ')
echo "fetch-sources: ${pkgs% } from $(echo "$entry" | sed -n 's/^URIs: //p') $suite"
log=$tmp/apt.log
# shellcheck disable=SC2086
if ! { apt_private update && (cd "$tmp/dl" && apt_private source --download-only --only-source $pkgs); } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "fetch-sources: apt-get failed" >&2
	exit 1
fi
mkdir -p "$cache"
status=0
for f in $(echo "$todo" | cut -d' ' -f1); do
	h=$(echo "$todo" | awk -v f="$f" '$1 == f { print $2 }')
	if [ ! -f "$tmp/dl/$f" ]; then
		echo "fetch-sources: $suite has no $f (got:" \
			"$(cd "$tmp/dl" && find . -name '*.orig.*' | sed 's|^\./||' | tr '\n' ' '));" \
			"the wrap names another version" >&2
		status=1
		continue
	fi
	got=$(sha256 "$tmp/dl/$f")
	if [ "$got" != "$h" ]; then
		echo "fetch-sources: $f has sha256 $got, the wrap says $h" >&2
		status=1
		continue
	fi
	cp "$tmp/dl/$f" "$cache/$f.part" && mv "$cache/$f.part" "$cache/$f"
	echo "fetch-sources: $f ok"
done
exit $status
