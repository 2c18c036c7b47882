"""Issue 8 point 1: the container build's rules, checked statically (no Docker engine here)."""
import json
import re
import tomllib

import pytest

from tests.deploy.manifests import ROOT, pod_spec, render

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|libpq-dev|python3-dev|cargo|rustc)\b")
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$|^python@sha256:[0-9a-f]{64}$")


def parse(text: str) -> list[dict]:
    """Stages of a Dockerfile: [{"from": image, "name": alias, "instructions": [(KEYWORD, args)]}]."""
    text = re.sub(r"\\\n", " ", text)  # line continuations
    stages = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            match = re.match(r"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", args, re.IGNORECASE)
            stages.append({"from": match.group(1), "name": match.group(2), "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, args))
        elif keyword != "ARG":
            raise AssertionError(f"instruction before FROM: {line}")
    return stages


def instructions(stage, keyword):
    return [args for kw, args in stage["instructions"] if kw == keyword]


@pytest.fixture(scope="module")
def stages():
    return parse(DOCKERFILE.read_text())


def test_multi_stage_with_a_pinned_slim_base(stages):
    assert len(stages) >= 2
    for stage in stages:
        assert PINNED_BASE.match(stage["from"]), f"base not pinned to an exact slim tag or digest: {stage['from']}"
    assert stages[0]["name"] and stages[-1]["from"] == stages[0]["from"]


def test_dependencies_come_from_the_lock_in_the_builder(stages):
    builder = stages[0]
    runs = " ".join(instructions(builder, "RUN"))
    assert "pip install -r requirements.lock" in runs
    assert any("requirements.lock" in c for c in instructions(builder, "COPY"))
    assert "-e " not in runs and "--editable" not in runs  # a real install: no source tree at run time


def test_final_stage_has_no_build_tools_and_copies_only_the_venv(stages):
    final = stages[-1]
    for run in instructions(final, "RUN"):
        assert not BUILD_TOOLS.search(run), f"build tool in the final stage: {run}"
        assert "pip install" not in run and "apt-get install" not in run
    copies = instructions(final, "COPY")
    assert copies and all(c.startswith(f"--from={stages[0]['name']} ") for c in copies)
    assert any("/opt/venv" in c for c in copies)


def test_final_stage_runs_as_a_numeric_non_root_user(stages):
    users = instructions(stages[-1], "USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0
    # Kubernetes' runAsNonRoot can only verify a numeric uid; the manifests use the same one.
    for overlay in ("dev", "production"):
        for doc in render(overlay):
            if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["name"].startswith("akkoord-"):
                assert pod_spec(doc)["securityContext"]["runAsUser"] == int(user)


def test_exec_form_entrypoint_and_cmd(stages):
    final = stages[-1]
    entrypoint = instructions(final, "ENTRYPOINT")
    cmd = instructions(final, "CMD")
    assert len(entrypoint) == 1 and len(cmd) == 1
    # JSON (exec) form: akkoord is PID 1 and receives SIGTERM itself, no /bin/sh in between
    assert json.loads(entrypoint[0]) == ["akkoord"]
    assert json.loads(cmd[0])[:1] == ["serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["akkoord"] == "cli.main:main"


def test_read_only_root_friendly(stages):
    final = stages[-1]
    env = " ".join(instructions(final, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    var_dir = re.search(r"AKKOORD_VAR_DIR=(\S+)", env).group(1)
    assert "HOME=/tmp" in env
    for doc in render("production"):
        if doc["kind"] == "Deployment":
            mounts = {m["mountPath"] for m in pod_spec(doc)["containers"][0]["volumeMounts"]}
            assert {"/tmp", var_dir} <= mounts


def test_every_source_package_is_copied_into_the_build(stages):
    copied = {c.split()[0] for c in instructions(stages[0], "COPY") if not c.startswith("--from")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = {p.split(".")[0] for p in project["tool"]["setuptools"]["packages"]}
    dirs = {project["tool"]["setuptools"]["package-dir"].get(r, r).split("/")[0] for r in roots}
    assert dirs <= copied, f"not copied into the image: {dirs - copied}"
    for path in copied:
        assert (ROOT / path).exists(), path


def test_the_parser_sees_a_bad_dockerfile():
    bad = parse("FROM python:latest\nRUN apt-get install -y gcc\nUSER root\nENTRYPOINT akkoord serve\n")
    assert not PINNED_BASE.match(bad[0]["from"])
    assert BUILD_TOOLS.search(instructions(bad[0], "RUN")[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(instructions(bad[0], "ENTRYPOINT")[0])
