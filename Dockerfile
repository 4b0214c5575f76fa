# syntax=docker/dockerfile:1

# Build stage: a static, reproducible binary (no cgo, no local paths, no
# symbol table or DWARF). It runs on the build host's platform and
# cross-compiles for the requested target, so `docker buildx build
# --platform linux/amd64,linux/arm64 .` works without emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/injector ./cmd/injector
# The default output directory, owned by the non-root runtime user. On a
# Fargate bind mount whose containerPath matches the VOLUME below, ECS copies
# this directory (and its owner and mode) into the fresh task volume;
# otherwise the volume would be root-owned 0755 and unwritable for uid 65532.
RUN mkdir -p /rootfs/secrets && chown 65532:65532 /rootfs/secrets && chmod 0750 /rootfs/secrets

# Final stage: distroless static (CA certificates, /etc/passwd with the
# "nonroot" user, no shell). The binary writes only below INJECTOR_DIR, so the
# container runs with readonlyRootFilesystem and needs no /tmp.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/injector /usr/local/bin/injector
COPY --from=build --chown=65532:65532 /rootfs/ /
VOLUME ["/secrets"]
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/injector"]
