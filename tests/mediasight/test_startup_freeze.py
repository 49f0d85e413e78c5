"""A long-running process (`serve`, with or without its worker) moves what startup built out of the garbage
collector's sight. Run in a child process: freezing is for the whole process, and this one runs tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, gc, sys
    from pathlib import Path
    from mediasight.processes import serving
    from mediasight.settings import Settings

    async def main(worker: bool) -> None:
        settings = Settings(data_dir=Path(sys.argv[1]), analyzers="properties", semantic_search=False)
        assert gc.get_freeze_count() == 0
        async with serving(settings, worker=worker) as services:
            frozen = gc.get_freeze_count()
            print(frozen, len(gc.get_objects()))
            assert services.catalog is not None

    asyncio.run(main(sys.argv[2] == "worker"))
    """
)


def test_serving_freezes_startup_objects(tmp_path: Path) -> None:
    for mode in ("api", "worker"):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / mode), mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        frozen, tracked = (int(x) for x in done.stdout.split())
        # the opened services (tens of thousands of objects) are frozen; what is left tracked is the little
        # made since (the worker's first steps)
        assert frozen > 20_000, frozen
        assert tracked < frozen // 4, (tracked, frozen)
