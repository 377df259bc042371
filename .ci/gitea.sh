#!/usr/bin/env bash
# Builds the Gitea the adapter tests run against (once per version, cached
# outside the checkout; about 5 minutes on 2 cores the first time) and
# checks that it starts, serves the API and takes a git push.
# .ci/run calls it, then runs the tests with BUMP_GITEA_TESTS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
BUMP_GITEA_TESTS=1 go test -count=1 -timeout 40m -run '^TestServer$' -v ./internal/forge/giteatest/ 2>&1 | tail -n 20
