"""Rendering the kustomize overlays and the rules every akkoord workload must follow."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["dev", "production"]

_spec = importlib.util.spec_from_file_location("akkoord_k8s_render", K8S / "render.py")
render_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render_module)

BUSY = {"gateway", "identity", "importer", "approval", "letters"}
# Secrets made outside the manifests: by the platform team (docs/deploy.md) or by the operators.
EXTERNAL_SECRETS = {"production": {"akkoord-secrets", "akkoord-rabbitmq-default-user", "akkoord-db-app", "akkoord-tls"}}
# Custom resources: kubernetes-validate has no schema for them; checked by our own rules below.
OPERATOR_KINDS = {("rabbitmq.com/v1beta1", "RabbitmqCluster"): "RabbitMQ Cluster Operator CRD",
                  ("postgresql.cnpg.io/v1", "Cluster"): "CloudNativePG CRD"}


def render(overlay: str) -> list[dict]:
    return render_module.render(K8S / "overlays" / overlay)


def pod_spec(resource):
    return resource["spec"]["template"]["spec"]


def is_akkoord(container) -> bool:
    image = container["image"].split("@")[0].rsplit(":", 1)[0] if ":" in container["image"].rsplit("/", 1)[-1] \
        else container["image"].split("@")[0]
    return image == "akkoord" or image.endswith("/akkoord")


def _security_problems(where, container, pod_security, akkoord):
    problems = []
    sc = container.get("securityContext") or {}
    if not (sc.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.append(f"{where}: runAsNonRoot is not set")
    if sc.get("runAsUser", pod_security.get("runAsUser")) == 0:
        problems.append(f"{where}: runs as uid 0")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation must be false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{where}: capabilities must drop ALL")
    if sc.get("privileged"):
        problems.append(f"{where}: privileged")
    if akkoord and sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: readOnlyRootFilesystem must be true")
    return problems


def _resource_problems(where, container):
    problems = []
    resources = container.get("resources") or {}
    for part in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if not (resources.get(part) or {}).get(res):
                problems.append(f"{where}: resources.{part}.{res} missing")
    return problems


def workload_problems(resource: dict) -> list[str]:
    """The rules of issue 8 point 2 for one Deployment/StatefulSet (probes, resources, securityContext)."""
    name = resource["metadata"]["name"]
    spec = pod_spec(resource)
    pod_security = spec.get("securityContext") or {}
    problems = []
    if not spec.get("containers"):
        return [f"{name}: no containers"]
    if spec.get("hostNetwork") or spec.get("hostPID"):
        problems.append(f"{name}: host namespaces")
    for container in spec["containers"]:
        where = f"{name}/{container['name']}"
        akkoord = is_akkoord(container)
        for probe in ("readinessProbe", "livenessProbe"):
            if not container.get(probe):
                problems.append(f"{where}: {probe} missing")
        problems += _resource_problems(where, container)
        problems += _security_problems(where, container, pod_security, akkoord)
        if akkoord:
            problems += _akkoord_container_problems(where, container)
    for container in spec.get("initContainers", []):
        where = f"{name}/init:{container['name']}"
        problems += _resource_problems(where, container)
        problems += _security_problems(where, container, pod_security, is_akkoord(container))
    if any(is_akkoord(c) for c in spec["containers"]):
        inits = [c for c in spec.get("initContainers", []) if c.get("args", [])[:1] == ["wait-migrations"]]
        if not inits:
            problems.append(f"{name}: no wait-migrations initContainer (pods must not start before the migration Job)")
        mounts = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        if not {"/tmp", "/var/lib/akkoord"} <= mounts:
            problems.append(f"{name}: /tmp and /var/lib/akkoord must be writable volumes (read-only root)")
    return problems


def _akkoord_container_problems(where, container):
    problems = []
    args = container.get("args") or []
    if args[:1] != ["serve"] or len(args) != 2:
        return [f"{where}: must run exactly one service (`serve <service>`), got {args}"]
    service = args[1]
    readiness, liveness = container.get("readinessProbe") or {}, container.get("livenessProbe") or {}
    if service == "gateway":
        ports = {p.get("name") for p in container.get("ports", [])} | {p["containerPort"] for p in container.get("ports", [])}
        for probe, path in ((readiness, "/readyz"), (liveness, "/healthz")):
            get = probe.get("httpGet") or {}
            if get.get("path") != path or get.get("port") not in ports:
                problems.append(f"{where}: gateway probe must be httpGet {path} on its container port")
    else:
        command = (readiness.get("exec") or {}).get("command") or []
        if command[:3] != ["akkoord", "health", service]:
            problems.append(f"{where}: readiness must exec `akkoord health {service}` (broker + database)")
        if not liveness.get("exec") and not liveness.get("httpGet"):
            problems.append(f"{where}: liveness must be an exec (heartbeat) probe")
    return problems
