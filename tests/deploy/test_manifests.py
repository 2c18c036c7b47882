"""Issue 8 points 2 and 4: the rendered kustomize overlays are valid Kubernetes and follow the rules.

Every Deployment found is checked (probes, resources, securityContext), so a new service added
without probes fails here. Validation uses the schemas kubernetes-validate ships (offline).
"""
import copy
import os
import shutil
import socket
import subprocess

import kubernetes_validate
import pytest
import yaml

from chassis.runner import SERVICES
from tests.deploy.manifests import (BUSY, EXTERNAL_SECRETS, K8S, OPERATOR_KINDS, OVERLAYS, ROOT, is_akkoord, pod_spec,
                                    render, render_module, workload_problems)

KUBERNETES_VERSION = "1.30"
SERVICE_NAMES = [name for name in SERVICES if name != "gateway"]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def named(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


@pytest.fixture(params=OVERLAYS)
def overlay(request):
    return request.param


@pytest.fixture
def docs(overlay):
    return render(overlay)


@pytest.fixture
def no_network(monkeypatch):
    """Schema validation must not need the network: any connect attempt fails the test."""
    def refuse(self, address, *args, **kwargs):
        raise AssertionError(f"network access attempted: {address}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))


def test_every_rendered_manifest_validates_against_kubernetes_schemas_offline(overlay, docs, no_network):
    validated, skipped = [], []
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in OPERATOR_KINDS:
            skipped.append(key)  # no upstream schema: CRD of an operator (checked in test_production_*)
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, exc.path))}: "
                        f"{exc.message}")
        validated.append(doc["kind"])
    assert {"Deployment", "Service", "Ingress", "Job", "ConfigMap", "PodDisruptionBudget",
            "HorizontalPodAutoscaler"} <= set(validated)
    assert set(skipped) == (set(OPERATOR_KINDS) if overlay == "production" else set())


def test_the_schema_validator_rejects_a_broken_deployment():
    deployment = copy.deepcopy(named(render("dev"), "Deployment", "akkoord-identity"))
    pod_spec(deployment)["containers"][0]["resources"]["limits"]["memory"] = {"not": "a quantity"}
    pod_spec(deployment)["containers"][0]["livenessProbe"]["periodSeconds"] = "often"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(named(render("dev"), "Deployment", "akkoord-identity"))
    deployment["spec"]["template"]["spec"]["containerz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_deployment_and_statefulset_follows_the_rules(overlay, docs):
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    assert len(by_kind(docs, "Deployment")) == len(SERVICES)
    problems = [p for w in workloads for p in workload_problems(w)]
    assert problems == []


@pytest.mark.parametrize("breakage", ["readinessProbe", "livenessProbe", "resources", "securityContext"])
def test_a_deployment_without_probes_resources_or_security_fails_the_rules(breakage):
    deployment = copy.deepcopy(named(render("production"), "Deployment", "akkoord-identity"))
    deployment["metadata"]["name"] = "akkoord-newservice"
    del pod_spec(deployment)["containers"][0][breakage]
    assert workload_problems(deployment) != []


def test_a_deployment_that_migrates_or_skips_the_wait_fails_the_rules():
    deployment = copy.deepcopy(named(render("production"), "Deployment", "akkoord-letters"))
    pod_spec(deployment)["initContainers"] = []
    assert any("wait-migrations" in p for p in workload_problems(deployment))
    pod_spec(deployment)["containers"][0]["args"] = ["migrate"]
    assert workload_problems(deployment) != []


def test_one_deployment_per_service_running_that_service_from_the_one_image(docs):
    for name in SERVICES:
        deployment = named(docs, "Deployment", f"akkoord-{name}")
        container = pod_spec(deployment)["containers"][0]
        assert container["args"] == ["serve", name]
        assert is_akkoord(container)
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= 30
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_migrations_run_once_in_a_job_never_in_the_deployments(docs):
    jobs = by_kind(docs, "Job")
    assert [pod_spec(j)["containers"][0]["args"] for j in jobs] == [["migrate"]]
    job = jobs[0]
    assert job["spec"]["parallelism"] == 1 and job["spec"]["completions"] == 1
    container = pod_spec(job)["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]
    for deployment in by_kind(docs, "Deployment"):
        spec = pod_spec(deployment)
        assert all(c.get("args", [])[:1] != ["migrate"] for c in spec["containers"] + spec.get("initContainers", []))
        assert [c["args"][0] for c in spec["initContainers"]] == ["wait-migrations"]
        # the wait sees the same configuration (database URL) as the service itself
        init, main = spec["initContainers"][0], spec["containers"][0]
        assert init["envFrom"] == main["envFrom"] and init.get("env") == main.get("env")
        assert init["image"] == main["image"] == pod_spec(job)["containers"][0]["image"]


def test_busy_components_have_a_pdb_and_an_hpa_pointing_at_their_deployment(docs):
    pdbs = {p["metadata"]["name"]: p for p in by_kind(docs, "PodDisruptionBudget")}
    hpas = {h["metadata"]["name"]: h for h in by_kind(docs, "HorizontalPodAutoscaler")}
    for name in BUSY:
        deployment = named(docs, "Deployment", f"akkoord-{name}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        pdb = pdbs[f"akkoord-{name}"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        hpa = hpas[f"akkoord-{name}"]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": deployment["metadata"]["name"]}
        assert hpa["maxReplicas"] > hpa["minReplicas"] >= 1
        # the HPA owns the replica count: a `replicas:` here would be reset by every `kubectl apply`
        assert "replicas" not in deployment["spec"]


def test_gateway_service_and_ingress_reach_the_gateway_port(docs):
    gateway = named(docs, "Deployment", "akkoord-gateway")
    container = pod_spec(gateway)["containers"][0]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    service = named(docs, "Service", "akkoord-gateway")
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])
    config = named(docs, "ConfigMap", "akkoord-config")["data"]
    assert config["AKKOORD_HTTP"] == f"0.0.0.0:{port_names['http']}"
    ingress = named(docs, "Ingress", "akkoord")
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends and all(b["name"] == "akkoord-gateway" and b["port"]["name"] in service_ports for b in backends)



def test_public_url_is_the_ingress_address(overlay, docs):
    """twilio's status callback, links in e-mails and the web pages' CSRF check use AKKOORD_PUBLIC_URL;
    without it the callback would name the pod's own bind address, which twilio cannot reach."""
    from urllib.parse import urlsplit
    config = named(docs, "ConfigMap", "akkoord-config")["data"]
    ingress = named(docs, "Ingress", "akkoord")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    public = urlsplit(config.get("AKKOORD_PUBLIC_URL", ""))
    assert public.hostname in hosts, f"AKKOORD_PUBLIC_URL {public.geturl()!r} is not the Ingress host {hosts}"
    if overlay == "production":
        assert public.scheme == "https"

SPEC_CONFIG = {"AKKOORD_HTTP", "AKKOORD_SMS_BACKEND"}
SPEC_SECRETS = {"AMQP_URI", "AKKOORD_DATABASE_URL", "AKKOORD_PLATFORM_TOKEN", "AKKOORD_SECRET_KEY",
                "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"}


def test_configuration_in_a_configmap_and_secrets_only_in_secrets(overlay, docs):
    config = named(docs, "ConfigMap", "akkoord-config")["data"]
    assert SPEC_CONFIG <= set(config)
    assert not (SPEC_SECRETS | {"AKKOORD_SECRET_KEY_PREVIOUS"}) & set(config), "secrets must not be in the ConfigMap"
    rendered_secrets = {s["metadata"]["name"]: s for s in by_kind(docs, "Secret")}
    allowed = set(rendered_secrets) | EXTERNAL_SECRETS.get(overlay, set())
    if overlay == "dev":
        assert SPEC_SECRETS <= set(rendered_secrets["akkoord-secrets"]["stringData"])
    for workload in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        for container in pod_spec(workload)["containers"] + pod_spec(workload).get("initContainers", []):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in allowed
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] == "akkoord-config"
            for var in container.get("env", []):
                assert "value" not in var or var["name"] not in SPEC_SECRETS - {"AMQP_URI"} \
                    or "$(" in var["value"], f"{var['name']} in plain text"
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in allowed


def test_production_uses_the_operators_and_pinned_images():
    docs = render("production")
    rabbit = named(docs, "RabbitmqCluster", "akkoord-rabbitmq")
    assert rabbit["apiVersion"] == "rabbitmq.com/v1beta1" and rabbit["spec"]["replicas"] >= 3
    postgres = named(docs, "Cluster", "akkoord-db")
    assert postgres["apiVersion"] == "postgresql.cnpg.io/v1" and postgres["spec"]["instances"] >= 2
    assert postgres["spec"]["bootstrap"]["initdb"]["database"] == "akkoord"
    for workload in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        spec = pod_spec(workload)
        for container in spec["containers"] + spec.get("initContainers", []):
            image = container["image"]
            assert image.startswith("registry.example.nl/akkoord/akkoord:") and not image.endswith(":latest")
            env = {v["name"]: v for v in container["env"]}
            assert env["AKKOORD_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "akkoord-db-app", "key": "uri"}
            assert "akkoord-rabbitmq." in env["AMQP_URI"]["value"]
            assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "akkoord-rabbitmq-default-user"
            # $(VAR) expansion only sees variables defined earlier in the list
            names = [v["name"] for v in container["env"]]
            assert names.index("RABBITMQ_PASSWORD") < names.index("AMQP_URI")
    assert named(docs, "ConfigMap", "akkoord-config")["data"]["AKKOORD_SMS_BACKEND"] == "twilio"
    assert named(docs, "Namespace", "akkoord")


def test_everything_is_namespaced_into_the_overlay_namespace(overlay, docs):
    namespace = {"dev": "akkoord-dev", "production": "akkoord"}[overlay]
    for doc in docs:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == namespace
        else:
            assert doc["metadata"]["namespace"] == namespace


def test_liveness_exec_probe_follows_the_heartbeat_file(tmp_path):
    """The services' liveness command, run as the kubelet would: fresh heartbeat ok, stale or missing not."""
    probe = pod_spec(named(render("production"), "Deployment", "akkoord-identity"))["containers"][0]["livenessProbe"]
    command = probe["exec"]["command"]
    heartbeat = tmp_path / "heartbeat"
    env = dict(os.environ, AKKOORD_HEARTBEAT_FILE=str(heartbeat))
    assert subprocess.run(command, env=env).returncode != 0  # missing
    heartbeat.touch()
    assert subprocess.run(command, env=env).returncode == 0  # fresh
    old = heartbeat.stat().st_mtime - 180
    os.utime(heartbeat, (old, old))
    assert subprocess.run(command, env=env).returncode != 0  # stale: the hub stopped touching it
    config = named(render("production"), "ConfigMap", "akkoord-config")["data"]
    assert config["AKKOORD_HEARTBEAT_FILE"].startswith("/tmp/")  # on the writable emptyDir


def test_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(render_module.RenderError):
        render_module.render(tmp_path)


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None,
                    reason="neither kubectl nor kustomize installed: cannot compare with the real kustomize")
@pytest.mark.parametrize("overlay", ["base"] + OVERLAYS)
def test_our_renderer_matches_real_kustomize(overlay):
    path = K8S / overlay if overlay == "base" else K8S / "overlays" / overlay
    command = ["kubectl", "kustomize", str(path)] if shutil.which("kubectl") else ["kustomize", "build", str(path)]
    theirs = [d for d in yaml.safe_load_all(subprocess.run(command, check=True, capture_output=True,
                                                           text=True, cwd=ROOT).stdout) if d]
    mine = render_module.render(path)
    key = lambda d: (d["kind"], d["metadata"].get("namespace") or "", d["metadata"]["name"])  # noqa: E731
    assert sorted(mine, key=key) == sorted(theirs, key=key)
