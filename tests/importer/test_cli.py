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
    from tests.importer.test_wizard import _branch_staff
    amsterdam, utrecht = wizard.firm["branch_ids"]
    headers = ["Cliëntnummer", "Naam", "Vestiging"]
    first = wizard.upload("utrecht.csv", csv_bytes([["000311", "In Utrecht", "Utrecht"]], headers=headers))
    wizard.wait(first["id"])
    wizard.commit(first["id"])
    wizard.wait(first["id"], ("done",))

    vera = _branch_staff(wizard, amsterdam)
    path = tmp_path / "vera.csv"
    # 000311 is Utrecht's: invisible to Vera, so it looks new and identity refuses it on commit
    path.write_bytes(csv_bytes([["000311", "Toch", ""], ["000312", "Eigen", ""]], headers=headers))
    token = vera.headers["Authorization"].split()[1]
    result = run_cli("import", str(path), "--yes", "--url", wizard.portal.url, env_extra={"AKKOORD_TOKEN": token})
    assert "Doorgevoerd: 1 nieuw, 0 gewijzigd, 0 ongewijzigd, 1 mislukt." in result.stdout, result.stdout
    assert "rij 2 (000311): Cliëntnummer: Dit cliëntnummer is niet beschikbaar." in result.stdout, result.stdout
    assert result.returncode == 1, result.stderr  # a script sees that not everything went in
