"""Which model made each asset's current run, and which runs an older model made (pure rules, no I/O).

After an upgrade the server makes some analyzers' results with another model version (a new taxonomy
digest in the labels version, a new calibration in the objects version, ...). An asset whose current run
of an analyzer came from another provider, model or version than the one this server would use for the
tenant now is *outdated* for that analyzer: reprocessing it brings it up to date. A provider that reports
its version only with an answer (Rekognition before its first call here: "unknown") cannot be judged.

What is judged, by the name a reprocess batch runs it again with:
- an image analyzer (`labels`, `objects`, ...): its own run. A video's results of an analyzer are also in
  its `video` run, which a reprocess of `labels`, `objects`, `text` or `moderation` makes again: `labels`
  also judges that run's own models (TransNetV2 shots and the keyframe labeler, server key VIDEO), and
  `objects`, `text`, `moderation` the model each read the shots with (the run's parameters, SHOTS keys);
- `embedding`: the text embedder that made the meaning vector (a meaning text that changed, such as new
  glosses, is `mediasight verify --repair`'s: it is no model's age);
- `concept:<name>`: the concept version that scored the asset (`v<number>`) against its active version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.domain.video.findings import VIDEO

# A server model version that is no version: a cloud provider that says it only in its answers, asked
# nothing yet by this process (indexer.recognizers.rekognition.analyzer).
UNKNOWN_VERSION = "unknown"
EMBEDDING = "embedding"  # the meaning vector's run (indexer.analysis_runs)
SHOTS = "video."  # + an analyzer: the model a video run's shots were read with (video.objects)
VIDEO_LABELS = "labels"  # the name that judges (and reprocesses) a video run's own models


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


def model_record(model: ModelRef, parameters: Mapping[str, Any]) -> dict[str, object]:
    """How a video run records a model its shots were read with (its parameters' `segments`)."""
    return {
        "provider": model.provider,
        "model": model.model_name,
        "version": model.model_version,
        "parameters": dict(parameters),
    }


def shot_models(parameters: Mapping[str, Any]) -> dict[str, ModelRef]:
    """The models a video run's shots were read with, from its parameters: {SHOTS + analyzer: model}
    (what catalog adapters add to a current `video` run's own model)."""
    segments = parameters.get("segments")
    return {
        SHOTS + name: ModelRef(str(used["provider"]), str(used["model"]), str(used["version"]))
        for name, used in (segments.items() if isinstance(segments, Mapping) else ())
        if isinstance(used, Mapping)
    }


@dataclass(frozen=True)
class Verdict:
    model: ModelRef | None  # the first run's model that differs from the server's (None: none differs)
    older: bool = False  # ... and the server's model is known: reprocessing brings it up to date


CURRENT = Verdict(None)


def verdict(analyzer: str, models: Mapping[str, ModelRef], server: Mapping[str, ModelRef]) -> Verdict | None:
    """How one asset's results of the analyzer (of `server`, the models this server uses now) stand, from
    `models` (its current runs' models, with a video's shot models): None when it has no run of it. Judged
    by its own run, and a video's by its video run too (see the module's doc)."""
    now = server[analyzer]
    run = models.get(analyzer)
    judged = [(run, now)] if run is not None else []
    if VIDEO in models:  # a video's results are in its video run too
        shots, video = models.get(SHOTS + analyzer), server.get(VIDEO)
        judged += [(shots, now)] if shots is not None else []
        if analyzer == VIDEO_LABELS and video is not None and (run := models.get(VIDEO)) is not None:
            judged.append((run, video))
    for run, model in judged:
        if run != model:
            return Verdict(run, model.known)
    return CURRENT if judged else None


def judged(server: Mapping[str, ModelRef]) -> list[str]:
    """The names `server` judges runs by (VIDEO is no name of its own: `labels` judges it)."""
    return [name for name in server if name != VIDEO]


def outdated_analyzers(models: Mapping[str, ModelRef], server: Mapping[str, ModelRef]) -> list[str]:
    """The analyzers (of `server`) one asset's current runs (`models`) of which another model made. An
    analyzer without a run, or whose server version is unknown, is not outdated: nothing says an older
    model made it."""
    return [a for a in judged(server) if (v := verdict(a, models, server)) is not None and v.older]


@dataclass
class AnalyzerCensus:
    """One analyzer over a tenant's archive: the server's model and how many current runs each model made."""

    analyzer: str
    server: ModelRef
    shots: ModelRef | None = None  # labels: the model a video's shots are analysed with (VIDEO)
    current: int = 0  # assets whose current run the server's model made
    older: Counter[ModelRef] = field(default_factory=Counter)  # the other models' runs, by model
    outdated: int = 0  # assets of those whose runs reprocessing brings up to date (the server's is known)

    def count(self, judged: Verdict) -> None:
        if judged.model is None:
            self.current += 1
            return
        self.older[judged.model] += 1
        self.outdated += judged.older


def census_of(server: Mapping[str, ModelRef]) -> dict[str, AnalyzerCensus]:
    """An empty tally of each name `server` judges."""
    video = server.get(VIDEO)
    return {
        name: AnalyzerCensus(name, server[name], video if name == VIDEO_LABELS else None)
        for name in judged(server)
    }


def add_page(
    tally: Mapping[str, AnalyzerCensus],
    page: Mapping[str, Mapping[str, ModelRef]],
    server: Mapping[str, ModelRef],
) -> None:
    """Count one page of {asset ID: its current runs' models (with a video's shot models)} into the tally."""
    for models in page.values():
        for name, entry in tally.items():
            if (found := verdict(name, models, server)) is not None:
                entry.count(found)
