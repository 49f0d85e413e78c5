"""An OpenSearch API for the contract suites: osmem-server in memory on 127.0.0.1, or a real node.

Set MEDIASIGHT_TEST_OPENSEARCH_URL (e.g. http://127.0.0.1:9200 from docker-compose) to run the suites
against real OpenSearch; then nothing is skipped for osmem's gaps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

REAL_URL_ENV = "MEDIASIGHT_TEST_OPENSEARCH_URL"


@dataclass(frozen=True)
class OpenSearchServer:
    url: str
    osmem: bool  # True: the in-memory stand-in, which lacks some of the query DSL (k-NN ...)


@contextmanager
def opensearch_server() -> Iterator[OpenSearchServer]:
    real = os.environ.get(REAL_URL_ENV)
    if real:
        yield OpenSearchServer(real, osmem=False)
        return
    from osmem_server import OsmemServer

    # Loopback only, a free port; the server also exits with this process (it watches our PID).
    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    try:
        yield OpenSearchServer(server.url, osmem=True)
    finally:
        server.close()
