"""`contactpoint users|clients|audit`: the operator's commands over the same services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from contactpoint.cli_access import audit_app, clients_app, users_app
from tests.integration.access_support import PASSWORD, PIN, new_authority, unique

cli = typer.Typer()
cli.add_typer(users_app, name="users")
cli.add_typer(clients_app, name="clients")
cli.add_typer(audit_app, name="audit")
runner = CliRunner()


def test_users_create_reads_the_secrets_from_stdin_and_prints_the_enrolment(
    engine: Engine,
) -> None:
    authority, username = new_authority(engine), unique("amara")
    result = runner.invoke(
        cli,
        [
            "users",
            "create",
            username,
            "--role",
            "practitioner",
            "--authority",
            authority,
            "--child-protection",
            "--expires",
            "2099-12-31",
        ],
        input=f"{PASSWORD}\n{PIN}\n",
    )
    assert result.exit_code == 0, result.output
    enrolment = json.loads(result.stdout)
    assert pyotp.parse_uri(enrolment["provisioning_uri"]).secret == enrolment["totp_secret"]
    assert PASSWORD not in result.output
    listed = json.loads(runner.invoke(cli, ["users", "list"]).stdout)
    (mine,) = [user for user in listed if user["username"] == username]
    assert mine["authorities"] == [authority] and mine["child_protection"] is True
    assert mine["status"] == "active" and mine["expires_at"].startswith("2100-01-01")


def test_users_create_grants_the_archive_capability_to_a_manager_only(engine: Engine) -> None:
    authority = new_authority(engine)
    manager, practitioner = unique("archivist"), unique("not-archivist")
    granted = runner.invoke(
        cli,
        ["users", "create", manager, "--role", "la_manager", "--authority", authority]
        + ["--archive-access"],
        input=f"{PASSWORD}\n{PIN}\n",
    )
    refused = runner.invoke(
        cli,
        ["users", "create", practitioner, "--role", "practitioner", "--authority", authority]
        + ["--archive-access"],
        input=f"{PASSWORD}\n{PIN}\n",
    )

    assert granted.exit_code == 0, granted.output
    assert refused.exit_code == 1 and "archive capability" in refused.output
    listed = json.loads(runner.invoke(cli, ["users", "list"]).stdout)
    (mine,) = [user for user in listed if user["username"] == manager]
    assert mine["archive_access"] is True
    assert all(user["username"] != practitioner for user in listed)


def test_users_create_refuses_a_short_password_or_a_bad_pin(engine: Engine) -> None:
    for secrets in (f"short\n{PIN}\n", f"{PASSWORD}\n12\n", f"{PASSWORD}\n12ab\n"):
        result = runner.invoke(
            cli, ["users", "create", unique("x"), "--role", "auditor"], input=secrets
        )
        assert result.exit_code == 1 and "error:" in result.output


def test_suspend_reset_and_the_demo_code_of_a_demo_user(engine: Engine) -> None:
    username = unique("demo")
    created = runner.invoke(
        cli,
        ["users", "create", username, "--role", "auditor", "--demo"],
        input=f"{PASSWORD}\n{PIN}\n",
    )
    code = runner.invoke(cli, ["users", "totp", username])
    secret = json.loads(created.stdout)["totp_secret"]
    assert code.stdout.strip() in {
        pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=offset))
        for offset in (-30, 0, 30)
    }
    assert "suspended" in runner.invoke(cli, ["users", "suspend", username]).stdout
    reset = runner.invoke(cli, ["users", "reset", username], input=f"another long secret\n{PIN}\n")
    assert json.loads(reset.stdout)["totp_secret"] != secret


def test_the_code_of_a_real_user_is_never_printed(engine: Engine) -> None:
    username = unique("real")
    runner.invoke(
        cli, ["users", "create", username, "--role", "auditor"], input=f"{PASSWORD}\n{PIN}\n"
    )
    result = runner.invoke(cli, ["users", "totp", username])
    assert result.exit_code == 1 and "not a demo account" in result.output


def test_clients_create_prints_the_key_once_and_list_never_shows_it(engine: Engine) -> None:
    name = unique("cms")
    created = runner.invoke(cli, ["clients", "create", name, "--authority", new_authority(engine)])
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)["key"]
    listed = runner.invoke(cli, ["clients", "list"]).stdout
    assert name in listed and key not in listed
    assert runner.invoke(cli, ["clients", "revoke", name]).exit_code == 0
    refused = runner.invoke(
        cli, ["clients", "create", unique("cms"), "--authority", "E00000000", "--role", "admin"]
    )
    assert refused.exit_code == 1


def test_audit_export_writes_json_lines_of_the_window(engine: Engine) -> None:
    username = unique("exported")
    runner.invoke(
        cli, ["users", "create", username, "--role", "auditor"], input=f"{PASSWORD}\n{PIN}\n"
    )
    today = datetime.now(UTC).date().isoformat()
    result = runner.invoke(cli, ["audit", "export", "--from", today, "--to", today])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["event"] == "user_created" and e["subject"] == username for e in events)
    assert all(e["username"] for e in events if e["event"] == "user_created")
    report = runner.invoke(cli, ["audit", "report"])
    assert report.exit_code == 0 and "fishing" in json.loads(report.stdout)
