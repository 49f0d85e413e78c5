"""A video's faces run: one representative face per person its keyframes show (person-k is face k-1),
taken from the video analysis instead of a look at the poster alone, so the video's persons join the
tenant's face collection and are named (by hand, by a match, later) like any photo's faces.

Only the local faces analyzer's runs are made this way: the video analysis embeds faces with dlib, and
dlib vectors are what the local collection matches. A tenant whose faces provider is Rekognition keeps
its poster's faces (indexed in its Rekognition collection); its videos' persons stay video-local IDs.
Every person's face is kept whatever a batch's min_confidence: dropping one would renumber the rest.
"""

from __future__ import annotations

from catalog.domain.model import Asset, Face
from catalog.domain.ports import CatalogStore
from catalog.domain.video.findings import VIDEO
from indexer.recognizers.ports import Analyzer
from indexer.video.video_pipeline import is_video

FACES = "faces"
LOCAL = "local"


async def person_faces(catalog: CatalogStore, asset: Asset, analyzer: Analyzer) -> tuple[Face, ...] | None:
    """The faces the analyzer's run on this asset holds when it is a video's local faces run (its current
    video analysis's persons); None when the analyzer should look at the picture as usual (an image,
    another analyzer or provider, or a video analysis stored before it kept its persons' faces)."""
    if analyzer.name != FACES or analyzer.provider != LOCAL or not is_video(asset):
        return None
    run = (await catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {}).get(VIDEO)
    video = run.findings.video if run is not None else None
    return video.person_faces() if video is not None else None
