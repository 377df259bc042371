# syntax=docker/dockerfile:1
# check=error=true
# bump's container image: a static, trimmed, version-stamped binary on
# distroless (CA certificates, /etc/passwd with nonroot), as a non-root user.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t bump .
#   docker build --target debug -t bump:debug .   # with a shell, for GitLab CI `script`
#
# The `go build` line below is the reference build command: .ci/run builds
# the binary it measures with the same flags (internal/cli's tests compare).

# The build stage runs on the build machine's platform and cross-compiles
# for the target's, so a multi-arch build needs no emulation.

# build compiles the static binary; CGO off so it needs no libc.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOOS=$TARGETOS GOARCH=$TARGETARCH
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN go build -trimpath -ldflags "-s -w -X github.com/bump-gitops/bump/internal/cli.version=${VERSION} -X github.com/bump-gitops/bump/internal/cli.commit=${COMMIT} -X github.com/bump-gitops/bump/internal/cli.date=${DATE}" -o /out/bump ./cmd/bump

# debug adds busybox: GitLab runs a job's `script` lines in a shell.
FROM gcr.io/distroless/static-debian12:debug-nonroot AS debug
ARG VERSION=dev
ARG COMMIT=none
LABEL org.opencontainers.image.title="bump" \
      org.opencontainers.image.description="Move container image tags in GitOps manifests, as a pull request (with a shell)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/bump-gitops/bump"
COPY --from=build /out/bump /usr/local/bin/bump
COPY --from=build /out/bump /bump
USER nonroot:nonroot
ENTRYPOINT ["/bump"]

# final is the default target: nothing but the binary, CA certificates and tzdata.
FROM gcr.io/distroless/static-debian12:nonroot AS final
ARG VERSION=dev
ARG COMMIT=none
LABEL org.opencontainers.image.title="bump" \
      org.opencontainers.image.description="Move container image tags in GitOps manifests, as a pull request" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/bump-gitops/bump"
COPY --from=build /out/bump /bump
USER nonroot:nonroot
ENTRYPOINT ["/bump"]
