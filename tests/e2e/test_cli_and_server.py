"""A new user's path: CLI ingest of real photos with the real model, then GraphQL over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import Cli
from tests.e2e.photos import write_photo

SEARCH = """query ($labels: [String!], $query: String) {
  search(query: $query, filter: {labels: $labels}) {
    totalCount
    edges { score node { id filename status labels { name confidence parents } } }
    facets { labels { value count } }
  }
}"""


def gql(url: str, key: str, document: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def rows_coffee_id(json_lines: str) -> str:
    return next(
        r["assetId"] for r in map(json.loads, json_lines.splitlines()) if Path(r["path"]).name == "coffee.jpg"
    )


def test_ingest_folder_then_search_over_http(server: tuple[Cli, str], tmp_path: Path) -> None:
    cli, url = server
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    write_photo(photos / "chelsea.jpg", "chelsea")
    write_photo(photos / "coffee.jpg", "coffee")
    write_photo(photos / "nested" / "rocket.jpg", "rocket")
    (photos / "notes.txt").write_text("not a photo")
    (photos / "broken.jpg").write_bytes((photos / "coffee.jpg").read_bytes()[:5000])
    (photos / "coffee copy.jpg").write_bytes((photos / "coffee.jpg").read_bytes())  # --wait must not hang
    # what file managers leave beside photos is passed over, not refused
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (photos / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (photos / ".thumbnails").mkdir()
    write_photo(photos / ".thumbnails" / "chelsea.jpg", "chelsea", size=(64, 48))

    created = cli.run("tenant", "create", "acme")
    key = created.stdout.strip()
    assert key.startswith("msk_") and len(created.stdout.splitlines()) == 1 and "shown only" in created.stderr
    other_key = cli.run("tenant", "create", "other").stdout.strip()

    ingest = cli.run("ingest", str(photos), "--tenant", "acme", "--wait", "--json", check=False)
    assert ingest.returncode == 1, ingest.stderr  # two files were rejected
    rows = {Path(r["path"]).name: r for r in map(json.loads, ingest.stdout.splitlines())}
    coffees = sorted(rows.pop(n)["status"] for n in ("coffee.jpg", "coffee copy.jpg"))
    assert coffees == ["duplicate", "new"]  # the same bytes twice in one run: one asset
    assert {n: r["status"] for n, r in rows.items()} == {
        "chelsea.jpg": "new",
        "rocket.jpg": "new",
        "notes.txt": "rejected",
        "broken.jpg": "rejected",
    }
    assert "truncated" in rows["broken.jpg"]["error"] and rows["broken.jpg"]["assetId"] is None
    assert "3 new, 1 duplicate" in ingest.stderr and "2 rejected" in ingest.stderr

    animals = gql(url, key, SEARCH, labels=["animal"])["search"]
    assert [e["node"]["filename"] for e in animals["edges"]] == ["chelsea.jpg"]
    cat = animals["edges"][0]["node"]
    assert cat["status"] == "INDEXED"
    names = {lb["name"]: lb for lb in cat["labels"]}
    assert "Cat" in names and {"Mammal", "Animal"} <= set(names["Cat"]["parents"])
    assert animals["edges"][0]["score"] == names["Animal"]["confidence"]
    assert {"value": "Cat", "count": 1} in animals["facets"]["labels"]
    # the rocket's first label is the specific thing (not Weapon or Vehicle, which hold more confidence)
    rockets = gql(url, key, SEARCH, labels=["rocket"])["search"]["edges"]
    assert [e["node"]["filename"] for e in rockets] == ["rocket.jpg"]
    assert rockets[0]["node"]["labels"][0]["name"] == "Missile"

    # The second tenant sees nothing: not in search, counts, facets or by ID.
    nothing = gql(url, other_key, SEARCH, labels=["animal"])["search"]
    assert nothing == {"totalCount": 0, "edges": [], "facets": {"labels": []}}
    everything = gql(url, other_key, SEARCH)["search"]
    assert everything["totalCount"] == 0
    by_id = gql(url, other_key, "query ($id: ID!) { asset(id: $id) { id } }", id=cat["id"])
    assert by_id["asset"] is None

    # Re-ingest adds nothing.
    again = cli.run(
        "ingest", str(photos / "chelsea.jpg"), str(photos / "coffee.jpg"), "--tenant", "acme", "--json"
    )
    again_rows = [json.loads(line) for line in again.stdout.splitlines()]
    assert {r["status"] for r in again_rows} == {"duplicate"}
    assert {r["duplicateOf"]["assetId"] for r in again_rows} == {cat["id"], rows_coffee_id(ingest.stdout)}
    assert gql(url, key, SEARCH)["search"]["totalCount"] == 3
    # Without --json the summary is the output: each file, what it duplicates, then the counts.
    plain = cli.run("ingest", str(photos / "chelsea.jpg"), "--tenant", "acme")
    # the same file again is "already in" (a resumed run); a copy under another name says whose bytes
    assert f"duplicate  {cat['id']}" in plain.stdout and "chelsea.jpg (already in)" in plain.stdout
    assert "1 file: 0 new, 1 duplicate, 0 rejected" in plain.stdout and "registered asset" not in plain.stderr

    # The same results from the command line, through the service layer (no GraphQL).
    table = cli.run("search", "--label", "Animal", "--tenant", "acme").stdout
    assert "1 asset matches" in table and cat["id"] in table and "chelsea.jpg" in table
    row = next(line for line in table.splitlines() if cat["id"] in line)
    _, _, _, top, score, why, _ = (cell.strip() for cell in row.split("│"))
    assert "Cat 92" in top and "Animal" not in top  # the top labels are the specific ones
    assert why == f"Animal {score}"  # why it scored: its label Animal, asked for by name
    shown = cli.run("show", cat["id"], "--tenant", "acme").stdout
    assert "chelsea.jpg" in shown and "Cat " in shown and "preview" in shown and "labels" in shown
    preview = next(line for line in shown.splitlines() if line.strip().startswith("preview"))
    assert Path(preview.split(": ", 1)[1]).is_file()
    assert cli.run("show", cat["id"], "--tenant", "other", check=False).returncode == 1  # tenant-scoped

    # Ingest without --wait while the server runs: the server's worker enriches it.
    write_photo(photos / "astronaut.jpg", "astronaut")
    cli.run("ingest", str(photos / "astronaut.jpg"), "--tenant", "acme")
    deadline = time.monotonic() + 60
    while gql(url, key, SEARCH)["search"]["totalCount"] < 4:
        assert time.monotonic() < deadline, "the server's worker did not index the new asset"
        time.sleep(0.3)
    assert (
        gql(url, key, SEARCH, query="astronaut")["search"]["edges"][0]["node"]["filename"] == "astronaut.jpg"
    )

    # Reprocess with a stricter threshold; the server's worker runs the batch, the report tells what changed.
    started = cli.run("reprocess", "--tenant", "acme", "--analyzer", "labels", "--param", "min_confidence=90")
    batch_id = started.stdout.strip()
    assert "4 assets queued" in started.stderr
    deadline = time.monotonic() + 60
    query = "query ($id: ID!) { reprocessBatch(id: $id) { status done failed } }"
    while (batch := gql(url, key, query, id=batch_id)["reprocessBatch"])["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the server's worker did not finish the batch"
        time.sleep(0.3)
    assert batch == {"status": "COMPLETED", "done": 4, "failed": 0}
    report_query = "query ($id: ID!) { batchReport(batchId: $id) { assetsChanged labelsLost { name } } }"
    report = gql(url, key, report_query, id=batch_id)["batchReport"]
    assert report["assetsChanged"] >= 1 and report["labelsLost"]
    kept = gql(url, key, SEARCH, labels=["animal"])["search"]["edges"]
    runs = (
        'query ($id: ID!) { asset(id: $id) { runs(analyzer: "labels", first: 1) { labels { confidence } } } }'
    )
    for edge in kept:  # the classifier's labels (the object detector's were not reprocessed)
        [run] = gql(url, key, runs, id=edge["node"]["id"])["asset"]["runs"]
        assert all(lb["confidence"] >= 90 for lb in run["labels"])


def test_help_explains_every_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    top = cli.run("--help").stdout
    for command in (
        "serve",
        "tenant",
        "ingest",
        "worker",
        "reindex",
        "reprocess",
        "faces-sweep",
        "export-schema",
    ):
        assert command in top
    assert "--wait" in cli.run("ingest", "--help").stdout
    assert "min_confidence=80" in cli.run("reprocess", "--help").stdout
    missing = cli.run("ingest", str(tmp_path), "--tenant", "ghost", check=False)
    assert missing.returncode == 2 and "mediasight tenant create ghost" in missing.stderr
    ghost = cli.run("reindex", "--tenant", "ghost", check=False)
    assert ghost.returncode == 2 and "mediasight tenant create ghost" in ghost.stderr
    cli.run("tenant", "create", "acme")
    configured = cli.run(
        "tenant", "configure", "acme", "--analyzers", "labels,text", "--provider", "text=rekognition"
    )
    assert "analyzers labels,text" in configured.stderr and "rekognition" in configured.stderr
    assert "warning: this server does not offer text=rekognition" in configured.stderr  # kept, with a warning
    tuned = cli.run("tenant", "configure", "acme", "--param", "labels.min_confidence=70")
    assert "settings labels.min_confidence=70.0" in tuned.stderr and "rekognition" in tuned.stderr
    # text is on Rekognition, which this server does not offer: its settings cannot be checked
    refused = cli.run("tenant", "configure", "acme", "--param", "text.thorough=true", check=False)
    assert refused.returncode == 2 and "provider of text (rekognition)" in refused.stderr
    viewer = cli.run("key", "create", "acme", "--scope", "read", "--name", "viewer")
    assert viewer.stdout.strip().startswith("msk_") and "(read)" in viewer.stderr
    keys = [line.split("\t") for line in cli.run("key", "list", "acme").stdout.splitlines()]
    assert [(k[1], k[2], k[3]) for k in keys] == [
        ("read,write,admin", "live", "initial"),
        ("read", "live", "viewer"),
    ]
    rotated = cli.run("key", "rotate", "acme", keys[1][0])
    assert rotated.stdout.strip().startswith("msk_") and rotated.stdout != viewer.stdout
    assert cli.run("key", "revoke", "acme", keys[1][0], check=False).returncode == 1  # rotation revoked it
    wrong = cli.run("tenant", "configure", "acme", "--analyzers", "labels,colour", check=False)
    assert wrong.returncode == 2 and "unknown analyzer" in wrong.stderr and "properties" in wrong.stderr
    sweep = cli.run("faces-sweep", "--tenant", "acme", check=False)  # no Rekognition on this machine
    assert sweep.returncode == 2 and "not enabled" in sweep.stderr and sweep.stdout == ""
