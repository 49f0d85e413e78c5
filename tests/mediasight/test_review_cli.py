"""`mediasight reviewer` / `mediasight review`: a reviewer's key printed once, rules set and shown, the
archive swept once (a re-run creates nothing), gold tasks, clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mediasight.bootstrap import build
from mediasight.cli import app
from mediasight.settings import Settings
from services.keys import hash_api_key
from tests.fakes import ColorLabeler
from tests.mediasight.indexed import indexed_colors


def test_reviewers_rules_and_a_sweep(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", analyzers="labels", semantic_search=False)

    ids = indexed_colors(
        settings, ColorLabeler(), [("c.jpg", c) for c in [(240, 10, 10), (10, 240, 10), (10, 10, 240)]]
    )
    runner = CliRunner()
    env = {"MEDIASIGHT_DATA_DIR": str(settings.data_dir), "MEDIASIGHT_ANALYZERS": "labels",
           "MEDIASIGHT_SEMANTIC_SEARCH": "false"}  # fmt: skip

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, " ".join(result.stderr.split())  # rich wraps lines

    code, out, err = run("reviewer", "add", "Ann", "--tenant", "acme")
    assert code == 0 and out.startswith("msk_") and "shown only this once" in err
    key = out.strip()
    code, _, err = run("reviewer", "add", "ann", "--tenant", "acme")
    assert code == 1 and "NAME_TAKEN" in err
    code, _, err = run("reviewer", "add", "Bob", "--tenant", "nobody")
    assert code == 2 and "no tenant named" in err

    code, _, err = run("review", "apply", "--tenant", "acme")
    assert code == 1 and "NO_RULES" in err
    # A refused rule is a usage error in the command's own option names; the rules are shown in words.
    code, _, err = run("review", "rules", "--tenant", "acme", "--band", "70-40")
    assert code == 2 and err.startswith(
        "--band 70.0–40.0: the low end is above the high end. Nothing changed"
    )
    code, _, err = run("review", "rules", "--tenant", "acme", "--answers", "7")
    assert code == 2 and "need 1 ≤ --answers ≤ --max-answers ≤ 9" in err and "Traceback" not in err
    code, out, _ = run(
        "review", "rules", "--tenant", "acme", "--watch", "Red", "--watch", "Blue", "--answers", "2"
    )
    assert code == 0 and "  watched labels (--watch): Red, Blue\n" in out, out
    assert "  answers per task (--answers): 2, up to 5 when reviewers disagree (--max-answers)\n" in out
    assert "  band (--band): off\n" in out and "('" not in out
    # The sweep is a tracked batch: queued for the workers, or worked on here with --wait.
    code, out, err = run("review", "apply", "--tenant", "acme")
    assert code == 0 and len(out.strip()) == 36 and "queued for the workers" in err
    queued = out.strip()
    code, out, err = run("review", "apply", "--tenant", "acme", "--wait")
    assert code == 0 and "completed, 3 assets, 0 failed; 2 open tasks" in err, err
    swept = out.strip()
    code, out, err = run("review", "apply", "--tenant", "acme", "--wait")  # nothing is asked twice
    assert code == 0 and "completed, 3 assets, 0 failed; 2 open tasks" in err, err

    async def batches() -> dict[str, tuple[str, int, int]]:
        services = build(settings)
        try:
            tenant = await services.catalog.get_tenant_by_name("acme")
            assert tenant is not None
            found = await services.catalog.list_batches(tenant.id, limit=10)
            return {b.id: (b.status.value, b.total, b.done) for b in found}
        finally:
            services.close()

    swept_batches = asyncio.run(batches())
    assert swept_batches[swept] == ("completed", 3, 3)
    assert swept_batches[queued][0] == "completed"  # the --wait runs worked on the queued one too
    code, out, _ = run(
        "review", "gold", "--tenant", "acme", "--asset", ids[1], "--label", "Green", "--answer", "yes"
    )
    assert code == 0 and len(out.strip()) == 36
    code, out, _ = run("review", "stats", "--tenant", "acme")
    assert out.split() == ["open", "2", "done", "0", "gold", "1"]
    code, out, _ = run("reviewer", "list", "--tenant", "acme", "--refresh")
    assert code == 0 and out.splitlines()[1].startswith("Ann\t-\t-\t-\t0\t-\tactive")

    async def key_scopes() -> list[str]:
        services = build(settings)
        try:
            found = await services.catalog.find_api_key(hash_api_key(key))
            assert found is not None
            return [str(s) for s in found.scopes]
        finally:
            services.close()

    assert asyncio.run(key_scopes()) == ["review"]
