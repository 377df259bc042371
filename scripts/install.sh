#!/bin/sh
# Installs a released bump binary, checked against the release's SHA-256
# checksums file before anything is put in place.
#
#   BUMP_VERSION=v1.2.3 sh install.sh
#
# BUMP_VERSION      the release tag (required)
# BUMP_RELEASE_URL  where releases live; assets are $BUMP_RELEASE_URL/<tag>/<asset>
#                   (default https://github.com/bump-gitops/bump/releases/download;
#                   point it at a mirror on GHES or an air-gapped network)
# BUMP_INSTALL_DIR  where `bump` goes (default $HOME/.local/bin)
# RUNNER_OS, RUNNER_ARCH  the GitHub runner's platform, else `uname`
# RUNNER_TOOL_CACHE the runner's tool cache: a verified binary is kept there
#                   and reused by later jobs on the same runner
#
# Any failure is one line on stderr and a non-zero exit, and leaves no
# `bump` behind: the binary is moved into place only once it is verified.
set -eu

fail() {
	echo "bump install: $*" >&2
	exit 1
}

version=${BUMP_VERSION:-}
[ -n "$version" ] || fail "BUMP_VERSION is not set (want a release tag such as v1.2.3)"
case "$version" in
*/* | *..* | *[!A-Za-z0-9._+-]*) fail "BUMP_VERSION $version is not a release tag" ;;
esac
base=${BUMP_RELEASE_URL:-https://github.com/bump-gitops/bump/releases/download}
base=${base%/}
dest=${BUMP_INSTALL_DIR:-$HOME/.local/bin}

detect_os() {
	case "${RUNNER_OS:-$(uname -s)}" in
	Linux | linux) echo linux ;;
	macOS | Darwin | darwin) echo darwin ;;
	Windows | windows | MINGW* | MSYS* | CYGWIN*) echo windows ;;
	*) return 1 ;;
	esac
}

detect_arch() {
	case "${RUNNER_ARCH:-$(uname -m)}" in
	X64 | x86_64 | amd64) echo amd64 ;;
	ARM64 | aarch64 | arm64) echo arm64 ;;
	*) return 1 ;;
	esac
}

os=$(detect_os) || fail "unsupported OS ${RUNNER_OS:-$(uname -s)} (releases exist for Linux, macOS and Windows)"
arch=$(detect_arch) || fail "unsupported architecture ${RUNNER_ARCH:-$(uname -m)} (releases exist for amd64 and arm64)"

# goreleaser's default names: the version without its leading v.
v=${version#v}
exe=bump
ext=tar.gz
if [ "$os" = windows ]; then
	exe=bump.exe
	ext=zip
fi
asset="bump_${v}_${os}_${arch}.${ext}"
sums="bump_${v}_checksums.txt"

# The runner's tool cache, laid out as actions/tool-cache does it.
cached=
if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
	cached="$RUNNER_TOOL_CACHE/bump/$v/$arch"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t bump)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

download() { # url file
	if command -v curl >/dev/null 2>&1; then
		code=$(curl -sSL --connect-timeout 10 --max-time 300 --retry 2 -o "$2" -w '%{http_code}' "$1" 2>/dev/null) || code=${code:-000}
		[ "$code" = 200 ] || fail "download $1: HTTP $code"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -T 60 -t 2 -O "$2" "$1" 2>/dev/null || fail "download $1: failed"
	else
		fail "neither curl nor wget is installed"
	fi
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		openssl dgst -sha256 -r "$1" | cut -d' ' -f1
	fi
}

fetch_verified() {
	download "$base/$version/$sums" "$tmp/$sums"
	download "$base/$version/$asset" "$tmp/$asset"
	want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$tmp/$sums")
	[ -n "$want" ] || fail "$sums has no checksum for $asset"
	got=$(sha256 "$tmp/$asset")
	[ "$got" = "$want" ] || fail "checksum mismatch for $asset: got sha256 $got, want $want"
	mkdir "$tmp/x"
	if [ "$ext" = zip ]; then
		(cd "$tmp/x" && unzip -q "../$asset" "$exe") || fail "unpack $asset: failed"
	else
		tar -xzf "$tmp/$asset" -C "$tmp/x" "$exe" 2>/dev/null || fail "unpack $asset: no $exe inside"
	fi
	[ -f "$tmp/x/$exe" ] || fail "unpack $asset: no $exe inside"
	echo "$tmp/x/$exe"
}

if [ -n "$cached" ] && [ -f "$cached.complete" ] && [ -f "$cached/$exe" ]; then
	bin="$cached/$exe"
else
	bin=$(fetch_verified)
	if [ -n "$cached" ]; then
		# Best effort: a read-only cache only costs the next job a download.
		{ mkdir -p "$cached" && cp "$bin" "$cached/$exe" && chmod 755 "$cached/$exe" && : >"$cached.complete"; } 2>/dev/null || true
	fi
fi

mkdir -p "$dest" || fail "create $dest: failed"
# Copy beside the target, then rename: the target is either the old binary or
# the new one, never half of one.
cp "$bin" "$dest/.$exe.$$" || fail "write $dest: failed"
chmod 755 "$dest/.$exe.$$"
mv -f "$dest/.$exe.$$" "$dest/$exe" || { rm -f "$dest/.$exe.$$"; fail "write $dest/$exe: failed"; }
echo "bump $version installed in $dest/$exe" >&2
