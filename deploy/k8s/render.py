"""A tiny kustomize renderer for the subset akkoord's manifests use, so tests need no binary.

Supported: ``resources`` (files and kustomization directories), ``namespace``, ``images``
(newName / newTag / digest) and ``patches`` as strategic-merge patches, with an optional
``target`` (kind, name). Anything else in a kustomization.yaml is refused rather than ignored,
so the manifests cannot drift into features this renderer silently gets wrong. Where the
real binary is available (``kubectl kustomize``), tests/deploy compares both outputs.

    python deploy/k8s/render.py deploy/k8s/overlays/production > production.yaml
"""
import copy
import sys
from pathlib import Path

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}
# Strategic-merge keys of the Kubernetes lists we patch (from the API's patchMergeKey tags).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
              "envFrom": None, "tls": None, "rules": None}


class RenderError(Exception):
    pass


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def strategic_merge(base, patch, key=None):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and MERGE_KEYS.get(key):
        merge_key = MERGE_KEYS[key]
        out = list(base)
        for item in patch:
            for i, existing in enumerate(out):
                if isinstance(existing, dict) and existing.get(merge_key) == item.get(merge_key):
                    out[i] = strategic_merge(existing, item)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _matches(resource: dict, patch: dict, target: dict | None) -> bool:
    if target:
        if "kind" in target and resource["kind"] != target["kind"]:
            return False
        if "name" in target and resource["metadata"]["name"] != target["name"]:
            return False
        return True
    return (resource["kind"] == patch["kind"] and resource["metadata"]["name"] == patch["metadata"]["name"]
            and resource["apiVersion"].split("/")[0] == patch["apiVersion"].split("/")[0])


def _pod_specs(resource: dict):
    spec = resource.get("spec") or {}
    if "template" in spec:
        yield spec["template"].get("spec") or {}
    if "jobTemplate" in spec:
        yield spec["jobTemplate"]["spec"]["template"]["spec"]


def _set_image(image: str, rule: dict) -> str:
    name, tag, digest = image, None, None
    if "@" in name:
        name, digest = name.split("@", 1)
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != rule["name"]:
        return image
    name = rule.get("newName", name)
    if rule.get("digest"):
        return f"{name}@{rule['digest']}"
    tag = rule.get("newTag", tag)
    if digest and "newTag" not in rule:
        return f"{name}@{digest}"
    return f"{name}:{tag}" if tag else name


def render(directory) -> list[dict]:
    directory = Path(directory)
    kfile = directory / "kustomization.yaml"
    if not kfile.exists():
        raise RenderError(f"{directory}: no kustomization.yaml")
    kustomization = yaml.safe_load(kfile.read_text())
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise RenderError(f"{kfile}: unsupported fields {sorted(unknown)}")

    resources: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources.extend(render(path) if path.is_dir() else load_documents(path))

    for entry in kustomization.get("patches", []):
        patch = yaml.safe_load((directory / entry["path"]).read_text())
        target = entry.get("target")
        hits = 0
        for i, resource in enumerate(resources):
            if _matches(resource, patch, target):
                merged = strategic_merge(resource, {k: v for k, v in patch.items()
                                                    if k not in ("apiVersion", "kind", "metadata")})
                if "metadata" in patch:
                    meta = {k: v for k, v in patch["metadata"].items() if k != "name"}
                    merged["metadata"] = strategic_merge(merged["metadata"], meta)
                resources[i] = merged
                hits += 1
        if not hits:
            raise RenderError(f"{kfile}: patch {entry['path']} matches no resource")

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = namespace

    for rule in kustomization.get("images", []):
        for resource in resources:
            for pod in _pod_specs(resource):
                for container in pod.get("initContainers", []) + pod.get("containers", []):
                    container["image"] = _set_image(container["image"], rule)

    keys = [(r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]) for r in resources]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise RenderError(f"{kfile}: duplicate resources {sorted(duplicates, key=str)}")
    return resources


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: render.py KUSTOMIZATION_DIR", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(render(argv[0]), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
