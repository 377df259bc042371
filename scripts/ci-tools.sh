#!/usr/bin/env bash
# Builds (once) and prints the path of a CI tool, cached outside the
# repository by name and version, so a warm .ci/run builds nothing:
#
#   scripts/ci-tools.sh goreleaser|act|gitlab-ci-local
#
# goreleaser and act come from their Go modules through the module proxy;
# gitlab-ci-local from npm (4.60.0 is the last release that runs on Node 20).
set -euo pipefail

GORELEASER_VERSION=v2.17.0   # the newest whose go.mod asks for no more than Go 1.26
ACT_VERSION=v0.2.89
GITLAB_CI_LOCAL_VERSION=4.60.0

cache="${XDG_CACHE_HOME:-$HOME/.cache}/bump-ci"

gotool() { # name module version
  local dir="$cache/$1-$3"
  if ! [ -x "$dir/$1" ]; then
    mkdir -p "$dir"
    GOTOOLCHAIN=local GOBIN="$dir" go install "$2@$3" >&2
  fi
  echo "$dir/$1"
}

case "${1:-}" in
  goreleaser) gotool goreleaser github.com/goreleaser/goreleaser/v2 "$GORELEASER_VERSION" ;;
  act) gotool act github.com/nektos/act "$ACT_VERSION" ;;
  gitlab-ci-local)
    dir="$cache/gitlab-ci-local-$GITLAB_CI_LOCAL_VERSION"
    if ! [ -x "$dir/node_modules/.bin/gitlab-ci-local" ]; then
      mkdir -p "$dir"
      npm install --prefix "$dir" --no-audit --no-fund --silent "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" >&2
    fi
    echo "$dir/node_modules/.bin/gitlab-ci-local" ;;
  *) echo "usage: $0 goreleaser|act|gitlab-ci-local" >&2; exit 2 ;;
esac
