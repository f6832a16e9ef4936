#!/usr/bin/env bash
# Build, without any registry, the two images a depmin Dockerfile starts from, for buildah:
#   localhost/depmin-python:X.Y  Debian bookworm (mmdebstrap, minbase) + an installed CPython X.Y
#   ghcr.io/astral-sh/uv:V       the uv binary depmin itself uses, at /uv
# The machine's CA bundle goes into the base (uv inside a build needs it where TLS is intercepted).
# Usage: scripts/make_base_image.sh 3.12     (kept between runs: nothing is rebuilt when present)
set -euo pipefail
version="${1:?usage: make_base_image.sh X.Y}"
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
# One build at a time: test workers that start together wait here, then find the image made.
exec 9> "${TMPDIR:-/tmp}/depmin-make-base-image.lock"
flock 9
base="localhost/depmin-python:${version}"
python_bin="$(command -v "python${version}" || true)"
for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"${version}".*/bin/"python${version}"; do
    [ -x "$candidate" ] && python_bin="$candidate"
done
[ -n "$python_bin" ] || { echo "make_base_image: no Python ${version} installed" >&2; exit 2; }
prefix="$("$python_bin" -c 'import sys; print(sys.prefix)')"
uv_bin="$(python3 -c 'from uv import find_uv_bin; print(find_uv_bin())' 2>/dev/null || command -v uv)"
uv_version="$("$uv_bin" --version | awk '{print $2}')"

if ! buildah inspect --type image "$base" > /dev/null 2>&1; then
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    mmdebstrap --quiet --variant=minbase \
        --include=ca-certificates,passwd,libssl3,libffi8,zlib1g,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libuuid1,libexpat1 \
        bookworm "$rootfs" http://deb.debian.org/debian
    cp -a "$prefix/." "$rootfs/usr/local/"
    rm -rf "$rootfs/usr/local/lib/python${version}/test"
    ln -sf "python${version}" "$rootfs/usr/local/bin/python3"
    ln -sf "python${version}" "$rootfs/usr/local/bin/python"
    echo /usr/local/lib > "$rootfs/etc/ld.so.conf.d/usr-local.conf"
    chroot "$rootfs" /sbin/ldconfig
    cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    container="$(buildah from scratch)"
    trap 'rm -rf "$rootfs"; buildah rm "$container" > /dev/null 2>&1 || true' EXIT
    mount="$(buildah mount "$container")"
    cp -a "$rootfs/." "$mount/"
    buildah umount "$container" > /dev/null
    buildah config --env PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$container"
    buildah commit --quiet "$container" "$base" > /dev/null
    buildah rm "$container" > /dev/null
    trap 'rm -rf "$rootfs"' EXIT
fi
if ! buildah inspect --type image "ghcr.io/astral-sh/uv:${uv_version}" > /dev/null 2>&1; then
    container="$(buildah from scratch)"
    trap 'buildah rm "$container" > /dev/null 2>&1 || true' EXIT
    buildah copy --quiet "$container" "$uv_bin" /uv > /dev/null
    buildah commit --quiet "$container" "ghcr.io/astral-sh/uv:${uv_version}" > /dev/null
    buildah rm "$container" > /dev/null
fi
echo "$base"
