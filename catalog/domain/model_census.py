"""Which model made each asset's current run, and which runs an older model made (pure rules, no I/O).

After an upgrade the server makes some analyzers' results with another model version (a new taxonomy
digest in the labels version, a new calibration in the objects version, ...). An asset whose current run
of an analyzer came from another provider, model or version than the one this server would use for the
tenant now is *outdated* for that analyzer: reprocessing it brings it up to date. A provider that reports
its version only with an answer (Rekognition before its first call here: "unknown") cannot be judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

# A server model version that is no version: a cloud provider that says it only in its answers, asked
# nothing yet by this process (indexer.recognizers.rekognition.analyzer).
UNKNOWN_VERSION = "unknown"


@dataclass(frozen=True, order=True)
class ModelRef:
    """The model behind a run: provider, model name and version (as the run records them)."""

    provider: str
    model_name: str
    model_version: str

    def __str__(self) -> str:
        return f"{self.provider} {self.model_name} {self.model_version}"

    @property
    def known(self) -> bool:
        return self.model_version != UNKNOWN_VERSION


def outdated_analyzers(models: Mapping[str, ModelRef], server: Mapping[str, ModelRef]) -> list[str]:
    """The analyzers (of `server`, the models this server uses now) whose current run in `models` (one
    asset's) came from another model. An analyzer without a run, or whose server version is unknown, is
    not outdated: nothing says an older model made it."""
    return [
        analyzer
        for analyzer, now in server.items()
        if now.known and (run := models.get(analyzer)) is not None and run != now
    ]


@dataclass
class AnalyzerCensus:
    """One analyzer over a tenant's archive: the server's model and how many current runs each model made."""

    analyzer: str
    server: ModelRef
    current: int = 0  # assets whose current run the server's model made
    older: Counter[ModelRef] = field(default_factory=Counter)  # the other models' runs, by model

    @property
    def outdated(self) -> int:
        return sum(self.older.values()) if self.server.known else 0

    def count(self, run: ModelRef) -> None:
        if run == self.server:
            self.current += 1
        else:
            self.older[run] += 1


def add_page(tally: Mapping[str, AnalyzerCensus], page: Mapping[str, Mapping[str, ModelRef]]) -> None:
    """Count one page of {asset ID: {analyzer: model of its current run}} into the tally."""
    for models in page.values():
        for analyzer, run in models.items():
            if (entry := tally.get(analyzer)) is not None:
                entry.count(run)
