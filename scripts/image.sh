#!/usr/bin/env bash
# Builds the injector's container image for linux/amd64 and linux/arm64 as an
# OCI image layout in OUT, with no container engine (go-containerregistry,
# through internal/tools/imagebuild). OUT must not exist yet.
#
#   bash scripts/image.sh OUT
#
# Reproducible: the version, commit and every timestamp come from git
# (SOURCE_DATE_EPOCH is the commit time), and the Go toolchain is the one
# go.mod names, so the same commit gives the same digests wherever and
# whenever it is built. Outside a git checkout, set VERSION, COMMIT and
# SOURCE_DATE_EPOCH. Prints the image index digest.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: bash scripts/image.sh OUT  (OUT: a directory that does not exist yet)" >&2
	exit 2
fi
out=$1
if [ -e "$out" ] || [ -L "$out" ]; then
	echo "image.sh: $out already exists; the layout goes into a new directory" >&2
	exit 2
fi
case "$out" in
/*) ;;
*) out="$PWD/$out" ;;
esac

cd "$(dirname "$0")/.."
if [ -z "${COMMIT:-}" ] || [ -z "${VERSION:-}" ] || [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
		echo "image.sh: not a git checkout: set VERSION, COMMIT and SOURCE_DATE_EPOCH" >&2
		exit 2
	fi
fi
COMMIT=${COMMIT:-$(git rev-parse HEAD)}
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
GOTOOLCHAIN="go$(awk '$1 == "go" { print $2; exit }' go.mod)"
export GOTOOLCHAIN SOURCE_DATE_EPOCH

echo "image.sh: building $VERSION ($COMMIT, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $GOTOOLCHAIN) into $out" >&2
go run ./internal/tools/imagebuild -out "$out" -version "$VERSION" -commit "$COMMIT" -epoch "$SOURCE_DATE_EPOCH" ${PLATFORMS:+-platforms "$PLATFORMS"}
