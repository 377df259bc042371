#!/usr/bin/env bash
# The Action's install step: decides between a release binary and a build
# from source, and tells the next steps through $GITHUB_OUTPUT.
#
# BUMP_VERSION is the `version` input, else the ref the workflow pinned:
#  - a release tag (v1.2.3, v1.2.3-rc.1) installs that release (scripts/install.sh);
#  - a moving major or minor tag (v1, v1.2) installs the release it points at,
#    found with one `git ls-remote` of the action's repository;
#  - anything else (a branch, a commit SHA), or a moving tag that cannot be
#    resolved, is built from source by the Action's next steps.
set -euo pipefail

release='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
moving='^v[0-9]+(\.[0-9]+)?$'

from_source() {
	echo "bump: $1; building from source" >&2
	echo "from-source=true" >>"$GITHUB_OUTPUT"
	exit 0
}

# resolve prints the highest release tag on the commit the moving tag $1 names.
resolve() {
	local url="${SERVER_URL:-https://github.com}/${ACTION_REPOSITORY:-bump-gitops/bump}"
	local refs want
	# No `timeout` on macOS runners: git gives up on a stalled transfer itself.
	refs=$(GIT_TERMINAL_PROMPT=0 GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=20 git ls-remote --tags "$url" 2>/dev/null) || return 1
	want=$(awk -v t="refs/tags/$1^{}" '$2 == t { print $1 }' <<<"$refs")
	[ -n "$want" ] || want=$(awk -v t="refs/tags/$1" '$2 == t { print $1 }' <<<"$refs")
	[ -n "$want" ] || return 1
	awk -v c="$want" '$1 == c { sub("^refs/tags/", "", $2); sub("\\^\\{\\}$", "", $2); print $2 }' <<<"$refs" |
		grep -E "$release" | grep -v -- - | sort -V | tail -n 1
}

version=${BUMP_VERSION:-}
if [[ $version =~ $moving ]]; then
	tag=$(resolve "$version") || tag=
	[ -n "$tag" ] || from_source "no release found for $version"
	version=$tag
fi
[[ $version =~ $release ]] || from_source "${version:-no version} is not a release tag"

BUMP_VERSION=$version sh "$(dirname "$0")/install.sh"
echo "from-source=false" >>"$GITHUB_OUTPUT"
