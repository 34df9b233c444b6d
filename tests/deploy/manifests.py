"""What the schemas cannot say about deploy/: the Kubernetes manifests and the compose files
keep the promises the README makes of them. kubernetes-validate (tests/deploy/check.sh) checks
that each manifest is a valid object; this checks that, together, they deploy Portcullis the way
its docs say: replicas, probes, limits, a non-root user that is the image's own, the
key-encryption key from a Secret, a drain that fits the grace period, a NetworkPolicy that
admits only the ingress controller, and compose files that build the Dockerfile's image.

Run with the virtualenv of tests/deploy/setup.sh (it has PyYAML): python manifests.py ROOT
"""

import pathlib
import re
import sys

import yaml

root = pathlib.Path(sys.argv[1])
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


dockerfile = (root / "deploy/docker/Dockerfile").read_text()
user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
check(user, "the Dockerfile sets no numeric USER uid:gid")
uid, gid = (int(user.group(1)), int(user.group(2))) if user else (None, None)
check(
    re.search(r'^VOLUME \["/var/lib/portcullis"\]$', dockerfile, re.M),
    "the Dockerfile declares no VOLUME /var/lib/portcullis",
)

objects = {}
for path in sorted((root / "deploy/kubernetes").glob("*.yaml")):
    for document in yaml.safe_load_all(path.read_text()):
        objects[document["kind"]] = document
for kind in ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "NetworkPolicy"]:
    check(kind in objects, f"deploy/kubernetes/ has no {kind}")

labels = {"app.kubernetes.io/name": "portcullis"}
deployment = objects.get("Deployment", {})
spec = deployment.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
containers = pod.get("containers", [{}])
container = containers[0]
check(spec.get("replicas", 1) >= 2, "the Deployment runs fewer than 2 replicas")
check(spec.get("selector", {}).get("matchLabels") == labels, "the Deployment selects other pods")


def probe_path(name):
    return container.get(name, {}).get("httpGet", {}).get("path")


check(probe_path("readinessProbe") == "/readyz", "the readiness probe is not GET /readyz")
check(probe_path("livenessProbe") == "/healthz", "the liveness probe is not GET /healthz")
resources = container.get("resources", {})
check(
    {"cpu", "memory"} <= resources.get("requests", {}).keys(),
    "the container requests no cpu and memory",
)
check("memory" in resources.get("limits", {}), "the container has no memory limit")

security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
check(security.get("runAsNonRoot") is True, "runAsNonRoot is not set")
check(
    (security.get("runAsUser"), security.get("runAsGroup")) == (uid, gid),
    f"the pod runs as {security.get('runAsUser')}:{security.get('runAsGroup')}, "
    f"not the image's user {uid}:{gid}",
)
check(security.get("allowPrivilegeEscalation") is False, "privilege escalation is allowed")
check(security.get("readOnlyRootFilesystem") is True, "the root filesystem is writable")
check(
    security.get("capabilities", {}).get("drop") == ["ALL"], "capabilities are not all dropped"
)
# The gateway refuses a key file that group or others can read, which fsGroup would make it.
check("fsGroup" not in security, "fsGroup is set: it makes mounted files group-readable")

env = {item["name"]: item for item in container.get("env", [])}
kek = env.get("PORTCULLIS_KEY_ENCRYPTION_KEY", {})
check(
    "secretKeyRef" in kek.get("valueFrom", {}),
    "the key-encryption key does not come from a Secret",
)
config_path = env.get("PORTCULLIS_CONFIG", {}).get("value", "")
mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}
config_volume = volumes.get(mounts.get(str(pathlib.PurePosixPath(config_path).parent)), {})
check(
    config_volume.get("configMap", {}).get("name") == objects.get("ConfigMap", {}).get(
        "metadata", {}
    ).get("name"),
    f"PORTCULLIS_CONFIG ({config_path}) is not a file of the ConfigMap",
)
check("/var/lib/portcullis" in mounts, "the data directory is not a volume (the root is read-only)")

# The drain: shutdown_delay + shutdown_timeout + 5s for background tasks must fit.
toml_text = objects.get("ConfigMap", {}).get("data", {}).get("portcullis.toml", "")


def seconds(key, default):
    found = re.search(rf'^{key} = "(\d+)s"$', toml_text, re.M)
    return int(found.group(1)) if found else default


drain = seconds("shutdown_delay", 5) + seconds("shutdown_timeout", 30) + 5
grace = pod.get("terminationGracePeriodSeconds", 30)
check(grace >= drain, f"terminationGracePeriodSeconds ({grace}) is shorter than the drain ({drain}s)")

service = objects.get("Service", {}).get("spec", {})
check(service.get("selector") == labels, "the Service selects other pods")
ports = {p.get("name") for p in container.get("ports", [])}
check(
    all(p.get("targetPort") in ports for p in service.get("ports", [])),
    "the Service targets a port the container does not name",
)
pdb = objects.get("PodDisruptionBudget", {}).get("spec", {})
check(pdb.get("selector", {}).get("matchLabels") == labels, "the PodDisruptionBudget selects other pods")
check(
    pdb.get("minAvailable", 0) >= 1 and pdb.get("minAvailable", 0) < spec.get("replicas", 1),
    "the PodDisruptionBudget leaves no replica or blocks every eviction",
)

policy = objects.get("NetworkPolicy", {}).get("spec", {})
check(policy.get("podSelector", {}).get("matchLabels") == labels, "the NetworkPolicy guards other pods")
check("Ingress" in policy.get("policyTypes", []), "the NetworkPolicy does not restrict ingress")
rules = policy.get("ingress", [])
sources = [source for rule in rules for source in rule.get("from", [])]
check(len(rules) == 1 and len(sources) == 1, "the NetworkPolicy admits more than one source")
for source in sources:
    namespace = source.get("namespaceSelector", {}).get("matchLabels", {})
    check(
        list(namespace) == ["kubernetes.io/metadata.name"] and source.get("podSelector"),
        "the NetworkPolicy admits something else than the ingress controller's pods in its "
        "namespace (by kubernetes.io/metadata.name)",
    )

for path in sorted((root / "deploy").glob("*/docker-compose.yml")):
    name = path.relative_to(root)
    gateway = yaml.safe_load(path.read_text()).get("services", {}).get("portcullis")
    check(gateway, f"{name} has no portcullis service")
    if not gateway:
        continue
    build = gateway.get("build", {})
    built = (path.parent / build.get("context", "?") / build.get("dockerfile", "?")).resolve()
    check(
        built == (root / "deploy/docker/Dockerfile").resolve(),
        f"{name}: the portcullis service does not build deploy/docker/Dockerfile",
    )
    check(
        any(str(v).endswith(":/var/lib/portcullis") for v in gateway.get("volumes", [])),
        f"{name}: no volume on the image's data directory /var/lib/portcullis",
    )

for failure in failures:
    print(f"manifests: {failure}", file=sys.stderr)
sys.exit(1 if failures else 0)
