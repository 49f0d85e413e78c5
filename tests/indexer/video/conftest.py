from __future__ import annotations

import pytest

from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.recognizers.local.transnetv2 import TransNetV2


@pytest.fixture(scope="session")
def shot_model(tmp_path_factory: pytest.TempPathFactory) -> TransNetV2:
    model = TransNetV2(tmp_path_factory.mktemp("video-models"), window=200)
    model.load()
    return model


@pytest.fixture(scope="session")
def labeler(tmp_path_factory: pytest.TempPathFactory) -> EfficientNetLabeler:
    model = EfficientNetLabeler(tmp_path_factory.mktemp("label-models"))
    model.load()
    return model
