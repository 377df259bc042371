#!/usr/bin/env bash
# Runs the Action under a real Actions engine (act) and the GitLab template
# under a real GitLab CI engine (gitlab-ci-local), on this machine, against a
# local bare manifests repository. Called by .ci/run:
#
#   scripts/ci-engines.sh act DIST ACT          # DIST: a goreleaser snapshot dist/
#   scripts/ci-engines.sh gitlab DIST GITLAB_CI_LOCAL
#
# Nothing leaves loopback: the release is served from 127.0.0.1 and the
# manifests repository is a file:// URL.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: $0 act|gitlab DIST TOOL}
dist=$(cd "${2:?DIST}" && pwd)
tool=${3:?TOOL}

work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# The snapshot's tag, from its checksums file: bump_<version>_checksums.txt.
sums=$(cd "$dist" && ls bump_*_checksums.txt)
version=${sums#bump_}
version=${version%_checksums.txt}
tag=v$version

# serve_release lays the snapshot out as GitHub serves release downloads
# (<tag>/<asset>) and serves it on a free loopback port; sets release_url.
serve_release() {
	mkdir -p "$work/www/$tag"
	cp "$dist/$sums" "$dist"/bump_"$version"_*.tar.gz "$dist"/bump_"$version"_*.zip "$work/www/$tag/"
	python3 -u -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/http.log" 2>&1 &
	server_pid=$!
	local port='' _
	for _ in $(seq 1 100); do # at most 10 s
		port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$work/http.log" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$work/http.log"; echo "release server did not start"; exit 1; }
	release_url="http://127.0.0.1:$port"
}

# manifests_repo makes a bare repository holding testdata/demo on main.
manifests_repo() {
	git init -q --bare -b main "$work/manifests.git"
	git init -q -b main "$work/seed"
	cp -R "$repo_root/testdata/demo/." "$work/seed/"
	git -C "$work/seed" add -A
	git -C "$work/seed" -c user.name=ci -c user.email=ci@example.com commit -q -m seed
	git -C "$work/seed" push -q "$work/manifests.git" main
	manifests="file://$work/manifests.git"
}

# project copies the tracked files of this repository (the working tree's
# versions) into a fresh git repository, as a runner's checkout would be.
project() {
	local dir=$1
	mkdir -p "$dir"
	(cd "$repo_root" && git ls-files -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$dir"
	git -C "$dir" init -q -b main
	git -C "$dir" remote add origin https://gitlab.example.com/acme/api.git
	git -C "$dir" add -A
	git -C "$dir" -c user.name=ci -c user.email=ci@example.com commit -q -m ci
}

run_act() {
	serve_release
	manifests_repo
	project "$work/app"
	mkdir -p "$work/app/.github/workflows"
	cat >"$work/app/.github/workflows/bump.yml" <<EOF
name: bump
on: push
jobs:
  bump:
    runs-on: ubuntu-latest
    env:
      BUMP_RELEASE_URL: $release_url
    steps:
      # act serves the checkout from the local repository.
      - uses: actions/checkout@v4
      - id: bump
        uses: ./
        with:
          version: $tag
          image: ghcr.io/acme/api:v1.2.3
          repo: $manifests
          no-pr: "true"
      - name: outputs reach the next step through env
        env:
          CHANGED: \${{ steps.bump.outputs.changed }}
          BRANCH: \${{ steps.bump.outputs.branch }}
          COMMIT: \${{ steps.bump.outputs.commit }}
        run: |
          echo "changed=\$CHANGED branch=\$BRANCH commit=\$COMMIT"
          test "\$CHANGED" = true
          test "\$BRANCH" = bump/api
          test "\$(git --git-dir="$work/manifests.git" rev-parse "refs/heads/\$BRANCH")" = "\$COMMIT"
          "\$RUNNER_TEMP/bump-bin/bump" --version | grep -F "bump $tag "
EOF
	local start=$SECONDS
	(cd "$work/app" && "$tool" push -W .github/workflows/bump.yml -P ubuntu-latest=-self-hosted \
		--action-offline-mode --container-architecture linux/amd64 2>&1) | tee "$work/act.log"
	grep -q 'Job succeeded' "$work/act.log" || { echo "act: the job did not succeed"; exit 1; }
	grep -q "installed in" "$work/act.log" || { echo "act: bump was not installed from the release"; exit 1; }
	if grep -q 'info/refs' "$work/act.log"; then echo "act: the job tried to fetch an action"; exit 1; fi
	echo "act: job succeeded in $((SECONDS - start)) s"
}

run_gitlab() {
	manifests_repo
	project "$work/app"
	mkdir -p "$work/bin"
	tar -xzf "$dist/bump_${version}_linux_amd64.tar.gz" -C "$work/bin" bump
	cat >"$work/app/.gitlab-ci.yml" <<EOF
include:
  - local: .gitlab-ci-template.yml

stages: [deploy, report]

deploy:
  extends: .bump
  stage: deploy
  variables:
    BUMP_REPO: $manifests
    BUMP_NO_PR: "true"

report:
  stage: report
  needs: [deploy]
  rules:
    - if: \$CI_COMMIT_TAG
    - if: \$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH
  script:
    - echo "pipeline tag=[\$CI_COMMIT_TAG] branch=[\$CI_COMMIT_BRANCH]"
    - bump --version | grep -F "bump $tag "
    - echo "changed=\$BUMP_CHANGED branch=\$BUMP_HEAD_BRANCH commit=\$BUMP_COMMIT_SHA"
    - test "\$BUMP_CHANGED" = true
    - test "\$BUMP_HEAD_BRANCH" = bump/api
    - test "\$(git --git-dir="$work/manifests.git" rev-parse "refs/heads/\$BUMP_HEAD_BRANCH")" = "\$BUMP_COMMIT_SHA"
    - 'echo "\$BUMP_CHANGES" | grep -F "\"image\":\"ghcr.io/acme/api\""'
EOF
	git -C "$work/app" add -A
	git -C "$work/app" -c user.name=ci -c user.email=ci@example.com commit -q -m pipeline
	local sha
	sha=$(git -C "$work/app" rev-parse --short=8 HEAD)
	# Twice: on a release tag, and on a default-branch pipeline where
	# CI_COMMIT_TAG is empty. The template bumps CI_REGISTRY_IMAGE:CI_COMMIT_SHORT_SHA.
	local run
	for run in tag branch; do
		git --git-dir="$work/manifests.git" branch -D bump/api >/dev/null 2>&1 || true
		local extra=()
		if [ "$run" = tag ]; then extra=(--variable CI_COMMIT_TAG=v1.2.3 --variable CI_COMMIT_BRANCH=); fi
		(cd "$work/app" && PATH="$work/bin:$PATH" "$tool" --force-shell-executor --no-color \
			--variable CI_REGISTRY_IMAGE=ghcr.io/acme/api --variable CI_DEFAULT_BRANCH=main \
			"${extra[@]}" 2>&1) | tee "$work/gitlab-$run.log"
		local want="pipeline tag=[] branch=[main]"
		if [ "$run" = tag ]; then want="pipeline tag=[v1.2.3] branch=[]"; fi
		grep -qF "report > $want" "$work/gitlab-$run.log" ||
			{ echo "gitlab-ci-local ($run pipeline): want \"$want\""; exit 1; }
		grep -q "PASS  *report" "$work/gitlab-$run.log" ||
			{ echo "gitlab-ci-local ($run pipeline): the report job did not succeed"; exit 1; }
		git --git-dir="$work/manifests.git" show bump/api -- apps/api/deployment.yaml | grep -q "ghcr.io/acme/api:$sha" ||
			{ echo "gitlab-ci-local ($run pipeline): bump/api does not move the image to $sha"; exit 1; }
		echo "gitlab-ci-local: $run pipeline passed"
	done
}

case "$mode" in
act) run_act ;;
gitlab) run_gitlab ;;
*) echo "usage: $0 act|gitlab DIST TOOL" >&2; exit 2 ;;
esac
