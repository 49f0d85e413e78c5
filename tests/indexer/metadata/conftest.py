from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer.metadata.exiv2_metadata import Exiv2Metadata
from indexer.metadata.exiv2_sandbox import Exiv2Sandbox


@pytest.fixture(scope="session")
def exiv2() -> Iterator[Exiv2Metadata]:
    """One exiv2 child for the session's metadata tests (stopped at the end)."""
    sandbox = Exiv2Sandbox()
    yield Exiv2Metadata(sandbox)
    sandbox.close()
