#!/usr/bin/env bash
# Runs every test: unit tests, fuzz seeds, the integration tests that drive
# the built injector with the real AWS SDK against moto_server and MinIO, and
# the image tests (internal/image) that build the image twice with
# scripts/image.sh and run it as ECS would (unshare and chroot: as root).
# Installs what the tests need that a fresh machine lacks (MinIO, pinned).
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
STATICCHECK_VERSION=v0.8.2
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"

if ! command -v moto_server >/dev/null 2>&1; then
	echo "test.sh: moto_server (Python moto[server]) is required but not installed" >&2
	exit 1
fi
if ! command -v minio >/dev/null 2>&1; then
	echo "test.sh: installing MinIO $MINIO_VERSION (takes a few minutes the first time)" >&2
	go install "github.com/minio/minio@$MINIO_VERSION"
fi

if ! staticcheck -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	echo "test.sh: installing staticcheck $STATICCHECK_VERSION" >&2
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

go vet ./...
staticcheck ./...
export INJECTOR_REQUIRE_INTEGRATION=1
go test -count=1 -timeout 20m ./...
