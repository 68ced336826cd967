#!/usr/bin/env bash
# Re-fetch the vendored Apache ECharts build (dist/echarts.min.js, LICENSE, NOTICE) from npm
# and check it against the pinned checksums. Usage: services/analytics/scripts/fetch-echarts.sh
# (needs npm; the service itself and its Docker image need no Node).
set -euo pipefail
VERSION=6.1.0
TARBALL_SHA256=681aff88cc1038c3fa941a3a53d1b177a52250b05335efc607d6105ae13be481
MIN_JS_SHA256=b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0
DEST="$(cd "$(dirname "$0")/.." && pwd)/wafa_analytics/dashboard/vendor/echarts"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "echarts@${VERSION}" >/dev/null)
echo "${TARBALL_SHA256}  ${WORK}/echarts-${VERSION}.tgz" | sha256sum -c -
tar -xzf "${WORK}/echarts-${VERSION}.tgz" -C "$WORK" package/dist/echarts.min.js package/LICENSE package/NOTICE
echo "${MIN_JS_SHA256}  ${WORK}/package/dist/echarts.min.js" | sha256sum -c -
mkdir -p "$DEST"
cp "${WORK}/package/dist/echarts.min.js" "${WORK}/package/LICENSE" "${WORK}/package/NOTICE" "$DEST/"
echo "echarts ${VERSION} vendored in ${DEST}"
