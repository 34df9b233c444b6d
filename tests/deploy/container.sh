#!/usr/bin/env bash
# The container proof of deploy/docker/Dockerfile, run by `just deploy-test` (and so by
# `just test`): builds the image with Podman and runs it.
#
# What it builds: the runtime stage, fed with the binary this test run already built
# (BINARY=prebuilt, a stripped copy of target/debug/portcullis), because compiling the
# workspace again inside a container would take far too long on a small machine. The
# `build-source` stage (what `docker build .` runs by default) is linted, not built here.
#
# Base image: registries cannot be reached from the test machines, so the Debian 12 image the
# Dockerfile names (`FROM ... AS runtime`) is made with debootstrap (minbase, trimmed like
# Debian's -slim images), cached as a tarball under target/deploy-test/base/, and imported under
# that very name. A rerun reuses both the tarball and the imported image.
#
# What it checks: the image's user, volume, port and entrypoint; then, with the data directory
# on a named volume, that /healthz answers, that a user can register, log in and have the token
# verified, that the process runs as the image's non-root uid and keeps its database and
# key-encryption key (mode 0600) on the volume, that SIGTERM (`podman stop`) drains and exits 0,
# and that a new container on the same volume still knows the user and still accepts the token
# signed by the first one. The containers and the volume are always removed.
#
# Podman runs with storage and settings of its own under target/deploy-test/, so nothing here
# touches the machine's containers. Two settings are forced by what these machines allow:
# runc (crun refuses cgroup v1/v2 hybrid hosts) and explicit ulimits (Podman's default
# RLIMIT_NOFILE of 1048576 exceeds the hard limit, and root here lacks CAP_SYS_RESOURCE to raise
# it). The container shares the host's network (`--network host`) on a free port, so no bridge
# or firewall rule is created.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

binary=${PORTCULLIS_BINARY:-target/debug/portcullis}
dockerfile=deploy/docker/Dockerfile
state=$root/target/deploy-test
image=localhost/portcullis:deploy-test
started=$SECONDS

say() { echo "deploy-test: $*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}
step() { say "$1 ($((SECONDS - started))s)"; }

[ -x "$binary" ] || fail "$binary is missing: build it first (cargo build -p portcullis --bin portcullis)"

# --- Podman of our own --------------------------------------------------------------------
mkdir -p "$state"
# Kept short: conmon's socket paths under it must fit in 108 bytes.
runroot=/run/portcullis-deploy-test-$(printf %s "$state" | sha256sum | cut -c1-12)
nofile=$(ulimit -Hn)
[[ $nofile =~ ^[0-9]+$ ]] && [ "$nofile" -le 1048576 ] || nofile=1048576
cat >"$state/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$runroot"
EOF
cat >"$state/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$runroot/events.log"
tmp_dir = "$runroot/libpod"
EOF
export CONTAINERS_STORAGE_CONF=$state/storage.conf CONTAINERS_CONF=$state/containers.conf

# --- The base image, by debootstrap -------------------------------------------------------
base=$(sed -n 's/^FROM \([^ ]*\) AS runtime$/\1/p' "$dockerfile")
suite=$(printf %s "$base" | sed -n 's|^docker.io/library/debian:\([a-z]*\)-slim$|\1|p')
[ -n "$suite" ] || fail "the runtime stage's base ($base) is not a Debian -slim image this script can make"
tarball=$state/base/debian-$suite-slim.tar
if ! podman image exists "$base"; then
    if [ ! -s "$tarball" ]; then
        step "making $base with debootstrap (once; cached in $tarball)"
        rootfs=$state/base/rootfs
        rm -rf "$rootfs" && mkdir -p "$rootfs"
        # DEBIAN_MIRROR, if set, names another mirror than debootstrap's default.
        debootstrap --variant=minbase "$suite" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} \
            >"$state/base/debootstrap.log" 2>&1 ||
            fail "debootstrap $suite failed; see $state/base/debootstrap.log"
        # What Debian's -slim images leave out, and the download caches.
        rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
        tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
        mv "$tarball.partial" "$tarball"
        rm -rf "$rootfs"
    fi
    step "importing $tarball as $base"
    podman import --quiet "$tarball" "$base" >/dev/null
fi

# --- Build --------------------------------------------------------------------------------
grep -q '^HEALTHCHECK' "$dockerfile" && fail "$dockerfile declares a HEALTHCHECK; orchestrators probe /healthz and /readyz"
context=$state/context
rm -rf "$context" && mkdir -p "$context"
# Without its debug symbols the test image is a fifth of the size, and as quick to build.
objcopy --strip-debug "$binary" "$context/portcullis"
step "building the runtime stage of $dockerfile with the binary of this run"
podman build --quiet --pull=never --build-arg BINARY=prebuilt -f "$dockerfile" -t "$image" "$context" >/dev/null
podman image prune --force >/dev/null

config=$(podman image inspect --format \
    '{{.Config.User}} {{range $v, $_ := .Config.Volumes}}{{$v}}{{end}} {{range $p, $_ := .Config.ExposedPorts}}{{$p}}{{end}} {{join .Config.Entrypoint ","}} {{join .Config.Cmd ","}}' \
    "$image")
[ "$config" = "10001:10001 /var/lib/portcullis 8080/tcp /usr/local/bin/portcullis serve" ] ||
    fail "image config: got '$config'"
say "image: $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec) (user 10001, volume /var/lib/portcullis, port 8080)"

# --- Run ----------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url=http://127.0.0.1:$port
name=portcullis-deploy-test-$$
volume=$name-data
cleanup() {
    podman rm --force --time 0 "$name" "$name-again" >/dev/null 2>&1 || true
    podman volume rm --force "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

run() {
    podman run --detach --name "$1" --network host \
        --volume "$volume:/var/lib/portcullis" \
        --env PORTCULLIS_LISTEN="127.0.0.1:$port" --env PORTCULLIS_SHUTDOWN_DELAY=0s \
        "$image" >/dev/null
    for _ in $(seq 300); do
        curl -fsS "$base_url/healthz" >/dev/null 2>&1 && return 0
        [ "$(podman inspect --format '{{.State.Running}}' "$1")" = true ] || break
        sleep 0.1
    done
    podman logs "$1" >&2 || true
    fail "container $1 did not answer /healthz"
}

# `request METHOD PATH [BODY] [TOKEN]`: the body to $state/reply, the status on stdout.
request() {
    local args=(-s -o "$state/reply" -D "$state/headers" -w '%{http_code}' -X "$1" "$base_url$2")
    [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' -d "$3")
    [ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
    curl "${args[@]}"
}
expect() {
    local status
    status=$(request "${@:2}")
    [ "$status" = "$1" ] || fail "$2 $3 answered $status, not $1: $(cat "$state/reply")"
}
json() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$state/reply" "$1"; }

step "starting it with the data directory on the volume $volume, port $port"
run "$name"
expect 200 GET /healthz
log=$(podman logs "$name" 2>&1)
grep -q "portcullis listening on $base_url" <<<"$log" || fail "no startup line naming $base_url in: $log"

email=deploy-test@example.com
credentials="{\"email\": \"$email\", \"password\": \"correct horse battery\"}"
expect 201 POST /auth/register "$credentials"
expect 200 POST /auth/login "$credentials"
token=$(json access_token)
expect 200 GET /auth/verify "" "$token"
grep -qi "^x-auth-email: $email" "$state/headers" || fail "verify did not name $email: $(cat "$state/headers")"
say "registered, logged in and verified $email"

pid=$(podman inspect --format '{{.State.Pid}}' "$name")
[ "$(stat -c %u:%g "/proc/$pid")" = "10001:10001" ] || fail "the gateway runs as $(stat -c %u:%g "/proc/$pid"), not 10001:10001"
data=$(podman volume inspect --format '{{.Mountpoint}}' "$volume")
[ "$(stat -c '%u %a' "$data")" = "10001 700" ] || fail "the volume is $(stat -c '%u %a' "$data"), not 10001 700"
[ "$(stat -c '%u %a' "$data/kek")" = "10001 600" ] || fail "no key-encryption key of mode 600 on the volume"
[ -s "$data/portcullis.db" ] || fail "no database on the volume"
say "runs as 10001:10001; database and key-encryption key on the volume"

step "stopping it with SIGTERM"
podman stop --time 20 "$name" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM: $(podman logs --tail 5 "$name" 2>&1)"
podman rm "$name" >/dev/null

step "a new container on the same volume"
run "$name-again"
expect 200 GET /auth/verify "" "$token"
expect 200 POST /auth/login "$credentials"
podman stop --time 20 "$name-again" >/dev/null

step "done: image built, run, logged in, restarted on its volume"
