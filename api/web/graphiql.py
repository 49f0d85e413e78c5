"""GraphiQL served from this server's own files (copied from npm packages at install): works air-gapped."""

from __future__ import annotations

import json

from api.web.assets import NOT_BUILT, built

_FILES = "/static/graphiql"


def graphiql_html() -> str:
    try:
        start = json.loads(built("manifest.json"))["graphiql-start.js"]
    except FileNotFoundError:
        return f"<!doctype html><title>GraphiQL</title><p>{NOT_BUILT}</p>"
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>GraphiQL · Mediasight</title>
    <link rel="icon" href="data:," />
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; display: flex; }}</style>
    <link rel="stylesheet" href="{_FILES}/graphiql.min.css" />
    <link rel="stylesheet" href="{_FILES}/explorer.css" />
    <script src="{_FILES}/react.production.min.js"></script>
    <script src="{_FILES}/react-dom.production.min.js"></script>
    <script src="{_FILES}/graphiql.min.js"></script>
    <script src="{_FILES}/explorer.umd.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="module" src="/static/{start}"></script>
  </body>
</html>
"""
