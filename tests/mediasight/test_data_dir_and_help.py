"""One data dir per user, said where it matters; help texts that show their defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from api.app import create_app
from catalog.domain.model import Scope
from mediasight.bootstrap import Services
from mediasight.cli import app
from mediasight.settings import Settings, default_data_dir


def test_the_default_data_dir_is_per_user_not_per_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MEDIASIGHT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == tmp_path / "xdg" / "mediasight"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # the XDG spec: a relative path is ignored
    assert default_data_dir() == Path.home() / ".local" / "share" / "mediasight"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_data_dir() == Path.home() / ".local" / "share" / "mediasight"


def test_help_shows_defaults_and_the_data_dir() -> None:
    def shown(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # as one line: help wraps at the terminal's width

    main = shown()
    # the path as the process starts (help is built once, at import)
    assert "[default: $XDG_DATA_HOME/mediasight, here /" in main
    serve = shown("serve")
    assert "[default: 127.0.0.1]" in serve and "[default: 8000]" in serve
    assert "~/.local/share/mediasight" in serve
    revoke = shown("key", "revoke")
    assert "KEY_ID" in revoke and "mediasight key list" in revoke
    for text in (main, serve, revoke):
        assert "<bool>" not in text and " ." not in text, text


def every_command(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every `mediasight` command and group with its path: ((), root), (("key", "create"), command), ..."""
    command = command or get_command(app)
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from every_command(sub, (*path, name))


# typer's type hints: <str>, <list[str]>, <float range>, <path>, <xmp|image|json>
TYPE_HINT = re.compile(r"<(str|int|float|bool|path|file|dir|list\[[^>]*\]|\w+ range|[\w.]+(\|[\w.]+)+)>")


def test_help_shows_placeholders_not_type_hints() -> None:
    runner = CliRunner(env={"COLUMNS": "250"})
    helps = {path: runner.invoke(app, [*path, "--help"]).output for path, _ in every_command()}
    assert len(helps) > 50
    for path, text in helps.items():
        assert not TYPE_HINT.search(text), (path, text)
        assert "{" not in text.splitlines()[0], (path, text)  # usage: TENANT, not {TENANT}
    search = " ".join(helps[("search",)].split())
    assert "[OPTIONS] [QUERY]" in search and "--label LABEL" in search and "--tenant NAME" in search
    assert "--min-confidence NUMBER" in search and "--first N" in search
    assert "Usage: root key create [OPTIONS] TENANT\n" in helps[("key", "create")]
    assert "--param KEY=VALUE" in helps[("reprocess",)]


def test_every_argument_and_option_has_a_help_text() -> None:
    bare = [
        (" ".join(path), param.name)
        for path, command in every_command()
        for param in command.params
        if not param.help or param.help.startswith("[")  # none, or only "[default: ...]"
    ]
    assert bare == []


def test_key_help_names_every_scope() -> None:
    for command in (["key"], ["key", "create"]):
        shown = " ".join(CliRunner().invoke(app, [*command, "--help"]).output.split())
        assert all(scope.value in shown.replace("--scope SCOPE", "") for scope in Scope), shown  # review too


EMPTY = {
    ("tenant", "list"): "No tenants yet: create one with `mediasight tenant create NAME`.",
    ("webhook", "list", "acme"): "No webhooks yet: add one with `mediasight webhook create acme URL",
    ("concept", "list", "acme"): "No concepts yet: create one with `mediasight concept create acme NAME",
    ("profile", "list", "--tenant", "acme"): "No export profiles yet: save one with `mediasight profile save",
    ("reviewer", "list", "--tenant", "acme"): "No reviewers yet: add one with `mediasight reviewer add NAME",
    ("search", "cat", "--tenant", "acme"): "No assets match.",
}


def test_an_empty_list_is_a_sentence_not_a_header_alone(tmp_path: Path) -> None:
    runner = CliRunner(
        env={"MEDIASIGHT_DATA_DIR": str(tmp_path / "data"), "MEDIASIGHT_SEMANTIC_SEARCH": "false"}
    )
    for args, said in EMPTY.items():  # the tenant list first, then one tenant with nothing
        result = runner.invoke(app, list(args))
        shown = " ".join(result.output.split())
        assert result.exit_code == 0 and said in shown and "┏" not in shown and "\t" not in shown, (
            args,
            shown,
        )
        if args == ("tenant", "list"):
            assert runner.invoke(app, ["tenant", "create", "acme"]).exit_code == 0


def test_the_readme_command_table_says_what_the_help_says() -> None:
    """Each row's options are the command's; a command without subcommands has each of its options in its
    row (either side of a --x/--no-x pair)."""
    section = (Path(__file__).parents[2] / "README.md").read_text().split("## Command line", 1)[1]
    rows = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("| `mediasight ")]
    commands = dict(every_command())
    assert len(rows) > 20
    for row in rows:
        usage = row.split("` |", 1)[0]
        named = set(re.findall(r"--[a-z][a-z-]*", usage))
        top = usage.removeprefix("| `mediasight ").split()[0]
        under = [c for path, c in commands.items() if path[:1] == (top,)]
        offered = {
            opt for c in under for p in c.params for opt in (*p.opts, *getattr(p, "secondary_opts", ()))
        }
        assert named <= offered, (row, named - offered)
        if len(under) == 1:  # a command without subcommands
            for param in under[0].params:
                sides = {*param.opts, *getattr(param, "secondary_opts", ())}
                assert param.param_type_name == "argument" or sides & named, (top, sides)


async def test_an_unknown_key_is_told_the_servers_data_dir(services: Services) -> None:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": "Bearer msk_made_elsewhere"},
        )
    message = response.json()["errors"][0]["message"]
    assert response.status_code == 401 and str(services.settings.data_dir.resolve()) in message
    assert "--data-dir" in message


@pytest.mark.parametrize("name", ["", "\t", "../../x", "a" * 300, "a b", ".x", "ünï"])
def test_tenant_names_are_checked(name: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), "tenant", "create", name])
    assert result.exit_code == 2 and "is not a tenant name" in result.output
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_tenant_list(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    for name in ("zeta", "acme"):
        assert CliRunner().invoke(app, [*data, "tenant", "create", name]).exit_code == 0
    configured = CliRunner().invoke(
        app,
        [*data, "tenant", "configure", "zeta", "--analyzers", "labels,text", "--synonym", "Muffin=Cupcake"],
    )
    assert configured.exit_code == 0, configured.output
    listed = CliRunner(env={"COLUMNS": "250"}).invoke(app, [*data, "tenant", "list"])
    assert listed.exit_code == 0 and "2 tenants" in listed.output
    acme, zeta = (
        next(line for line in listed.output.splitlines() if name in line) for name in ("acme", "zeta")
    )
    assert listed.output.index("acme") < listed.output.index("zeta")
    assert "server defaults" in acme
    assert "analyzers labels,text; synonyms Muffin=Cupcake" in zeta
    nothing = CliRunner().invoke(app, [*data, "tenant", "configure", "acme", "--analyzers", " "])
    assert nothing.exit_code == 2 and "'none' for no recognition" in nothing.output
    bare = CliRunner().invoke(app, [*data, "tenant", "configure", "acme", "--analyzers", "none"])
    assert bare.exit_code == 0 and "analyzers none" in bare.output
    alone = tmp_path / "alone"
    assert CliRunner().invoke(app, ["--data-dir", str(alone), "tenant", "create", "solo"]).exit_code == 0
    listed_one = CliRunner().invoke(app, ["--data-dir", str(alone), "tenant", "list"]).output
    assert listed_one.splitlines()[0].strip() == "1 tenant"


def test_synonym_groups_are_added_joined_and_cleared(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert CliRunner().invoke(app, [*data, "tenant", "create", "acme"]).exit_code == 0

    def configure(*groups: str) -> tuple[int, str]:
        flags = [arg for g in groups for arg in ("--synonym", g)]
        result = CliRunner().invoke(app, [*data, "tenant", "configure", "acme", *flags])
        return result.exit_code, " ".join(result.output.split())

    assert configure("Muffin=Cupcake") == (0, "tenant 'acme': synonyms Muffin=Cupcake")
    assert configure("Car=Auto") == (
        0,
        "tenant 'acme': synonyms Muffin=Cupcake; Car=Auto",
    )  # added, not replacing
    assert configure("auto=Automobile") == (0, "tenant 'acme': synonyms Muffin=Cupcake; Car=Auto=Automobile")
    code, said = configure("Muffin")
    assert code == 2 and "expected two names or more" in said
    assert configure("none", "Sofa=Couch") == (0, "tenant 'acme': synonyms Sofa=Couch")
