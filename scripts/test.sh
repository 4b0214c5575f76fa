#!/usr/bin/env bash
# Runs every test: unit tests, fuzz seeds, the integration tests that drive
# the built injector with the real AWS SDK against moto_server and MinIO, and
# the image tests (internal/image) that build the image twice with
# scripts/image.sh, run it as ECS would in podman and build the Dockerfile
# with buildah (as root). Installs what the tests need that a fresh machine
# lacks (MinIO and the registry, pinned; the container engine, node and npm
# from Debian; the IAM simulator the examples' policy tests run, pinned by
# its package-lock.json).
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

# The examples' IAM policies are judged by an IAM simulator that runs on
# node (examples/taskdefs/testdata/iamsim); npm ci installs exactly what its
# lock file pins, again whenever the lock file changes.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: node with npm is required (apt-get install nodejs npm)" >&2
		exit 1
	fi
	echo "test.sh: installing node and npm" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
IAMSIM_DIR=examples/taskdefs/testdata/iamsim
IAMSIM_STAMP="$IAMSIM_DIR/node_modules/.installed-package-lock.json"
if ! cmp -s "$IAMSIM_DIR/package-lock.json" "$IAMSIM_STAMP"; then
	echo "test.sh: installing the IAM simulator (npm ci in $IAMSIM_DIR)" >&2
	(cd "$IAMSIM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	cp "$IAMSIM_DIR/package-lock.json" "$IAMSIM_STAMP"
fi

# The image tests' container engine, from Debian: podman, buildah, skopeo,
# the runc runtime and catatonit (the pod's infra container). Only root can
# install them or run the tests that use them.
IMAGE_ENGINE_PACKAGES=(podman buildah skopeo runc catatonit)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	missing=()
	for pkg in "${IMAGE_ENGINE_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "test.sh: installing ${missing[*]} with apt-get (the image tests' container engine)" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi
# The registry the image tests pull from, with basic auth.
REGISTRY_VERSION=v3.1.2
if ! registry --version 2>/dev/null | grep -q " $REGISTRY_VERSION"; then
	echo "test.sh: installing the distribution registry $REGISTRY_VERSION" >&2
	go install "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
fi

if ! staticcheck -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	echo "test.sh: installing staticcheck $STATICCHECK_VERSION" >&2
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

go vet ./...
staticcheck ./...
export INJECTOR_REQUIRE_INTEGRATION=1
go test -count=1 -timeout 20m ./...
