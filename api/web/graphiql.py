"""GraphiQL served from this server's own files (copied from npm packages at install): works air-gapped."""

from __future__ import annotations

import json

from api.web.assets import NOT_BUILT, built

_FILES = "/static/graphiql"
# A bar with the way back to the app above the IDE. On a phone the editors and the result stack (side by
# side, GraphiQL squeezed the result to a sliver); inline widths its drag bar set give way.
_STYLE = """
body { margin: 0; height: 100vh; display: flex; flex-direction: column; }
.ms-back { flex: none; padding: 6px 12px; font: 14px/1.4 system-ui, sans-serif; }
.ms-back { border-bottom: 1px solid #d9dde3; }
.ms-back a { color: #1f5fbf; }
#graphiql { flex: 1; min-height: 0; display: flex; }
@media (max-width: 700px) {
  .graphiql-container .graphiql-sidebar { width: 44px; padding: 4px 0; }
  .graphiql-container .graphiql-main { min-width: 0; }
  .graphiql-container .graphiql-sessions { margin: 4px 4px 4px 0; min-width: 0; }
  .graphiql-container .graphiql-session { flex-direction: column; padding: 0 4px 4px; }
  .graphiql-container .graphiql-session > div:not(.graphiql-horizontal-drag-bar) {
    flex: 1 1 0 !important; display: flex !important; min-height: 0; min-width: 0;
  }
  .graphiql-container .graphiql-session > .graphiql-horizontal-drag-bar { display: none !important; }
  .graphiql-container .graphiql-response { min-width: 0; width: 100%; }
}
"""


def graphiql_html() -> str:
    try:
        start = json.loads(built("manifest.json"))["graphiql-start.js"]
    except FileNotFoundError:
        return f"<!doctype html><title>GraphiQL</title><p>{NOT_BUILT}</p>"
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>GraphiQL · Mediasight</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="{_FILES}/graphiql.min.css" />
    <link rel="stylesheet" href="{_FILES}/explorer.css" />
    <style>{_STYLE}</style>
    <script src="{_FILES}/react.production.min.js"></script>
    <script src="{_FILES}/react-dom.production.min.js"></script>
    <script src="{_FILES}/graphiql.min.js"></script>
    <script src="{_FILES}/explorer.umd.js"></script>
  </head>
  <body>
    <header class="ms-back"><a href="/">← Back to Mediasight</a></header>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="module" src="/static/{start}"></script>
  </body>
</html>
"""
