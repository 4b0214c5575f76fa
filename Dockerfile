# syntax=docker/dockerfile:1

# The same image as `bash scripts/image.sh OUT` (internal/image describes
# both; internal/image/dockerfile_test.go builds this file with buildah and
# compares the result with that image). Build with
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#
# Build stage: a static, reproducible binary (no cgo, no local paths, no VCS
# stamp, no symbol table, empty build ID). It runs on the build host's
# platform and cross-compiles for the target, so no emulation is needed. The
# golang tag is go.mod's go version: the toolchain scripts/image.sh uses.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION
ARG COMMIT
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
    -ldflags="-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT}" \
    -o /rootfs/root/injector ./cmd/injector
# The exec helper (docs/exec.md), built the same way for the same platform.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
    -ldflags="-s -w -buildid=" -o /rootfs/root/with-env ./cmd/with-env
# The rest of the root filesystem, split by owner: /etc (users and groups
# with nonroot 65532, CA certificates from the pinned Go module) and the
# volume directory /secrets, owned by 65532 with mode 0750. On a Fargate bind
# mount whose containerPath is /secrets, ECS copies this directory's owner
# and mode into the fresh task volume; otherwise the volume would be owned by
# root with mode 0755, and uid 65532 could not write to it.
RUN go run ./internal/tools/imagebuild -rootfs /rootfs

# Final stage: nothing but those files. The binary writes only below
# INJECTOR_DIR, so the container runs with readonlyRootFilesystem and needs
# no /tmp.
FROM scratch
ARG VERSION
ARG COMMIT
COPY --from=build --chown=0:0 /rootfs/root/ /
COPY --from=build --chown=65532:65532 /rootfs/nonroot/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.source="https://github.com/ecs-secret-injector/injector" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
VOLUME ["/secrets"]
USER 65532:65532
ENTRYPOINT ["/injector"]
