"""`mediasight webhook ...` on a data dir: create (the secret alone on stdout), list, rotate, delete."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from catalog.domain.webhooks import WebhookEvent
from mediasight.cli import app

ENV = {"MEDIASIGHT_SEMANTIC_SEARCH": "false", "MEDIASIGHT_WEBHOOKS_ALLOW_PRIVATE": "true"}


def run(data: Path, *args: str, env: dict[str, str] = ENV) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args], env=env)
    return result.exit_code, result.stdout


def test_webhook_commands(tmp_path: Path) -> None:
    assert run(tmp_path, "tenant", "create", "app")[0] == 0
    code, out = run(
        tmp_path, "webhook", "create", "app", "http://127.0.0.1:9/hooks", "--event", "asset.indexed"
    )
    assert code == 0 and out.strip().startswith("whsec_") and len(out.strip().splitlines()) == 1
    code, listed = run(tmp_path, "webhook", "list", "app")
    endpoint_id, state, events, url = listed.strip().split("\t")
    assert (state, events, url) == ("enabled", "asset.indexed", "http://127.0.0.1:9/hooks")
    code, secret = run(tmp_path, "webhook", "rotate", "app", endpoint_id)
    assert code == 0 and secret.strip().startswith("whsec_") and secret != out
    assert run(tmp_path, "webhook", "deliveries", "app", endpoint_id) == (0, "")
    assert run(tmp_path, "webhook", "delete", "app", "no-such-endpoint")[0] == 1
    refused = run(
        tmp_path,
        "webhook",
        "create",
        "app",
        "http://10.0.0.1/hooks",
        "--event",
        "asset.deleted",
        env={"MEDIASIGHT_SEMANTIC_SEARCH": "false"},
    )
    assert refused[0] == 1
    assert run(tmp_path, "webhook", "delete", "app", endpoint_id)[0] == 0
    assert run(tmp_path, "webhook", "list", "app") == (0, "")


def test_help_names_every_event() -> None:
    for command in (["webhook"], ["webhook", "create"]):
        shown = " ".join(CliRunner().invoke(app, [*command, "--help"]).output.split())
        assert all(event.value in shown for event in WebhookEvent), shown  # review.consensus too
