#!/usr/bin/env bash
# The static checks of what deploy/ ships, run by `just deploy-test` (and so by `just test`)
# with the tools tests/deploy/setup.sh installs:
#   - deploy/docker/Dockerfile passes hadolint (warnings fail);
#   - every manifest in deploy/kubernetes/ is a valid object of the pinned Kubernetes version
#     (kubernetes-validate --strict: unknown fields fail too), and together they keep the
#     promises tests/deploy/manifests.py lists (probes, non-root user, Secret, NetworkPolicy);
#     the compose files build the Dockerfile's image;
#   - deploy/systemd/portcullis.service passes `systemd-analyze verify`, sets the hardening
#     directives named below, and its sandbox rates at most 1.1 ("OK") in `systemd-analyze
#     security`; both tools work offline, with no systemd running, on a copy whose ExecStart
#     names the binary of this run;
#   - portcullis.example.toml and the ConfigMap's portcullis.toml are configurations that
#     `portcullis config check` accepts.
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBERNETES_VERSION=1.35.0
# On systemd-analyze's exposure scale, shown as 0.0 to 10.0 and given here in tenths: the unit's
# rating (1.1, "OK") when it was written. Dropping any one sandboxing directive raises it, except
# those DynamicUser implies, which the unit must still spell out (HARDENING).
SYSTEMD_EXPOSURE_MAX=11
HARDENING=(DynamicUser=yes ProtectSystem=strict StateDirectory=portcullis NoNewPrivileges=yes
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes RestrictSUIDSGID=yes CapabilityBoundingSet=
    UMask=0077)
tools=target/deploy-tools/bin
binary=${PORTCULLIS_BINARY:-target/debug/portcullis}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
passed=0
check() {
    local what=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
        echo "deploy-check: ok: $what" >&2
    else
        failed=$((failed + 1))
        echo "deploy-check: FAILED: $what" >&2
        sed 's/^/    /' "$work/out" >&2
    fi
}

[ -x "$tools/hadolint" ] || { echo "deploy-check: run tests/deploy/setup.sh first" >&2; exit 1; }
[ -x "$binary" ] || { echo "deploy-check: $binary is missing: cargo build -p portcullis --bin portcullis" >&2; exit 1; }
binary=$(realpath "$binary")

check "hadolint deploy/docker/Dockerfile" "$tools/hadolint" --no-color deploy/docker/Dockerfile
check "kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION) deploy/kubernetes/" \
    "$tools/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" deploy/kubernetes/*.yaml
check "the manifests and compose files keep their promises" "$tools/python" tests/deploy/manifests.py .

unit=$work/portcullis.service
sed "s|^ExecStart=/usr/local/bin/portcullis |ExecStart=$binary |" deploy/systemd/portcullis.service >"$unit"
grep -q "^ExecStart=$binary " "$unit" || { echo "deploy-check: the unit's ExecStart is not /usr/local/bin/portcullis" >&2; exit 1; }
# verify prints its complaints and still exits 0 for some of them: any output is a failure.
verify() { [ -z "$(systemd-analyze verify "$unit" 2>&1 | tee /dev/stderr)" ]; }
check "systemd-analyze verify deploy/systemd/portcullis.service" verify
spelled_out() {
    local missing=()
    for directive in "${HARDENING[@]}"; do
        grep -qx "$directive" deploy/systemd/portcullis.service || missing+=("$directive")
    done
    [ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
}
check "the unit spells out its hardening (${HARDENING[*]})" spelled_out
check "systemd-analyze security: exposure at most $((SYSTEMD_EXPOSURE_MAX / 10)).$((SYSTEMD_EXPOSURE_MAX % 10))" \
    systemd-analyze security --offline=true --threshold="$SYSTEMD_EXPOSURE_MAX" "$unit"

# `config check` reads PORTCULLIS_* too: run it with none but those named.
config_check() { env -i PATH="$PATH" "$@" "$binary" config check --config "$config"; }
config=portcullis.example.toml
check "portcullis config check --config portcullis.example.toml" config_check
config=$work/portcullis.toml
"$tools/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["portcullis.toml"])' \
    deploy/kubernetes/configmap.yaml >"$config"
# The values the Deployment takes from the Secret, as placeholders.
check "portcullis config check on the ConfigMap's portcullis.toml" config_check \
    PORTCULLIS_DATABASE_URL=postgres://portcullis@postgres/portcullis \
    PORTCULLIS_KEY_ENCRYPTION_KEY="$(head -c 32 /dev/zero | base64)"

echo "deploy-check: $passed passed, $failed failed" >&2
[ "$failed" -eq 0 ]
