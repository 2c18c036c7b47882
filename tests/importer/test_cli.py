"""`akkoord import FILE --group NAME` against the real gateway."""
from tests.gateway.test_cli import run_cli
from tests.importer.files import csv_bytes, xlsx_bytes

ROWS = [["000301", "Cli Eén", "", "1234AB", "Utrecht", "", ""],
        ["000302", "Cli Twee", "12", "", "", "fout", ""]]


def test_cli_imports_with_confirmation(wizard, tmp_path):
    group_id = wizard.group("Via de CLI")
    path = tmp_path / "klanten.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    token = wizard.api.headers["Authorization"].split()[1]
    result = run_cli("import", str(path), "--group", "via de cli", "--url", wizard.portal.url,
                     f"--token={token}", input_text="j\n")
    assert result.returncode == 0, result.stderr
    assert "nieuw:        1" in result.stdout and "ongeldig:     1" in result.stdout
    assert "rij 3 (000302): E-mail: Ongeldig e-mailadres." in result.stdout
    assert "Doorgevoerd: 1 nieuw" in result.stdout
    clients = wizard.clients()
    assert clients["000301"]["group_id"] == group_id and clients["000301"]["postcode"] == "1234 AB"


def test_cli_declined_commits_nothing_and_unknown_group_fails(wizard, tmp_path):
    path = tmp_path / "klanten.csv"
    path.write_bytes(csv_bytes(ROWS))
    token = wizard.api.headers["Authorization"].split()[1]
    result = run_cli("import", str(path), "--url", wizard.portal.url, input_text="n\n",
                     env_extra={"AKKOORD_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert "Niet doorgevoerd." in result.stdout
    assert wizard.clients() == {}
    result = run_cli("import", str(path), "--group", "Bestaat niet", "--url", wizard.portal.url,
                     env_extra={"AKKOORD_TOKEN": token})
    assert result.returncode == 1 and "bestaat niet" in result.stderr


def test_cli_reports_rows_that_failed_on_commit(wizard, tmp_path):
    """A colleague creates client 000311 in another branch while Vera looks at her preview: her row for
    it can no longer go in, and the CLI names it and exits with 1."""
    import os
    import subprocess
    import sys
    import time

    from tests.importer.test_wizard import _branch_staff
    amsterdam, utrecht = wizard.firm["branch_ids"]
    headers = ["Cliëntnummer", "Naam", "Vestiging"]
    vera = _branch_staff(wizard, amsterdam)
    path = tmp_path / "vera.csv"
    path.write_bytes(csv_bytes([["000311", "Toch", ""], ["000312", "Eigen", ""]], headers=headers))
    token = vera.headers["Authorization"].split()[1]
    cli = subprocess.Popen([sys.executable, "-m", "cli.main", "import", str(path), "--url", wizard.portal.url],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, AKKOORD_TOKEN=token))
    try:
        deadline = time.monotonic() + 60
        while not [i for i in vera.get("/api/v1/imports").json()["items"] if i["status"] == "ready"]:
            assert time.monotonic() < deadline, "the preview did not become ready"
            time.sleep(0.2)  # the CLI now waits for "j"
        created = wizard.api.post("/api/v1/clients", json={"number": "000311", "name": "In Utrecht",
                                                          "branch_id": utrecht})
        assert created.status_code == 201, created.text
        stdout, stderr = cli.communicate("j\n", timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert "Doorgevoerd: 1 nieuw, 0 gewijzigd, 0 ongewijzigd, 1 mislukt." in stdout, stdout
    assert "rij 2 (000311): Cliëntnummer: Dit cliëntnummer is niet beschikbaar." in stdout, stdout
    assert cli.returncode == 1, stderr  # a script sees that not everything went in


def test_cli_progress_says_what_the_import_waits_for(capsys):
    """While identity is away the job waits (tests/importer/test_identity_outage.py); the CLI's progress line
    shows the status's message, so whoever runs `akkoord import` sees why the bar stands still."""
    from unittest import mock

    import requests

    from cli import importer as cli_importer

    def answer(status, done, message=None):
        response = requests.Response()
        response.status_code = 200
        progress = {"done": done, "total": 4, **({"message": message} if message else {})}
        response._content = requests.compat.json.dumps({"status": status, "progress": progress}).encode()
        return response

    waiting = "Wacht op de cliëntenadministratie (identity); de import gaat vanzelf verder."
    http = mock.Mock()
    http.get.side_effect = [answer("parsing", 2, waiting), answer("parsing", 3), answer("ready", 4)]
    with mock.patch.object(cli_importer.time, "sleep"):
        assert cli_importer.follow(http, "http://gateway/api/v1/imports/1", ("ready",))["status"] == "ready"
    lines = [line for line in capsys.readouterr().err.split("\r") if line.strip()]
    assert waiting in lines[0] and "2/4" in lines[0]
    assert "3/4" in lines[1] and "Wacht" not in lines[1]
