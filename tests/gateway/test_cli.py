"""The `akkoord` command talks HTTP to the real gateway."""
import subprocess
import sys

import json


def run_cli(*args, env_extra=None, input_text=None):
    import os
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True,
                          env=env, input=input_text, timeout=120)


def test_firm_create_through_the_gateway(portal):
    result = run_cli("firm", "create", "Kantoor Via CLI", "--branch", "Zwolle", "--branch", "Deventer",
                     "--multi-branch", "--admin-username", "cli-beheer", "--admin-name", "Cees Cli",
                     "--admin-password", "een lang wachtwoord voor cli", "--url", portal.url,
                     env_extra={"AKKOORD_PLATFORM_TOKEN": portal.platform_token})
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert len(created["branch_ids"]) == 2
    api = portal.login("cli-beheer", "een lang wachtwoord voor cli")
    assert api.get("/api/v1/me").json()["firm"]["name"] == "Kantoor Via CLI"


def test_firm_create_reports_errors_in_dutch(portal):
    result = run_cli("firm", "create", "Kantoor", "--admin-username", "x1-beheer", "--admin-name", "X",
                     "--admin-password", "kort", "--url", portal.url,
                     env_extra={"AKKOORD_PLATFORM_TOKEN": portal.platform_token})
    assert result.returncode == 1
    assert "weak_password" in result.stderr and "wachtwoord" in result.stderr
    result = run_cli("firm", "create", "Kantoor", "--admin-username", "x2-beheer", "--admin-name", "X",
                     "--admin-password", "een lang wachtwoord", "--url", portal.url,
                     env_extra={"AKKOORD_PLATFORM_TOKEN": "verkeerd"})
    assert result.returncode == 1 and "401" in result.stderr


def test_gateway_down_is_a_clear_message_not_a_traceback():
    result = run_cli("firm", "create", "Kantoor", "--admin-username", "x3-beheer", "--admin-name", "X",
                     "--admin-password", "een lang wachtwoord", "--url", "http://127.0.0.1:1",
                     env_extra={"AKKOORD_PLATFORM_TOKEN": "iets"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "127.0.0.1:1" in result.stderr and "niet bereikbaar" in result.stderr
