"""Providers come from one registry: a provider added there (and nowhere else) can be chosen by settings
and tenants, and its analyzers run; an unknown one is refused with the registry's names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from PIL import Image

from catalog.domain.model import Findings, Label, TenantConfig
from indexer.analyzers import LocalAnalyzer, UnknownAnalyzerError
from indexer.recognizers.ports import Analyzer, ProviderParts
from mediasight import providers
from mediasight.bootstrap import Services, build
from mediasight.providers import ProviderDeps, ProviderEntry
from mediasight.settings import Settings
from tests.api.test_reprocess import ingest
from tests.conftest import make_tenant
from tests.fakes import ColorLabeler


def _echo(settings: Settings, deps: ProviderDeps) -> ProviderParts:
    def labels() -> Analyzer:
        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            return Findings(labels=(Label(f"Echo {image.width}", 99.0, ()),))

        return LocalAnalyzer("labels", "echo-model", "7", run, deps.cpu, provider="echo")

    return ProviderParts({("labels", "echo"): labels})


@pytest.fixture
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(providers.REGISTRY, "echo", ProviderEntry("echo", build=_echo))


@pytest.mark.usefixtures("echo_registered")
async def test_a_registered_provider_runs_for_the_tenants_that_choose_it(
    settings: Settings,
) -> None:
    services: Services = build(settings, labeler=ColorLabeler())
    try:
        echo, _ = await make_tenant(services, "echo")
        plain, _ = await make_tenant(services, "plain")
        await services.catalog.set_tenant_config(echo, TenantConfig(providers={"labels": "echo"}))
        ids = {t: await ingest(services, t, {"red": (240, 20, 20)}) for t in (echo, plain)}
        runs = {t: (await services.catalog.get_results(t, [ids[t]["red"]]))[ids[t]["red"]] for t in ids}
        assert runs[echo]["labels"].model_name == "echo-model"
        assert [lb.name for lb in runs[echo]["labels"].findings.labels] == ["Echo 64"]
        assert runs[plain]["labels"].model_name == "fake-color"
    finally:
        services.close()


def test_an_unknown_provider_is_refused_with_the_registry_names(settings: Settings) -> None:
    with pytest.raises(UnknownAnalyzerError, match="choose from local, rekognition"):
        build(settings.model_copy(update={"providers": "labels=echo"}), labeler=ColorLabeler())


@pytest.mark.usefixtures("echo_registered")
def test_settings_may_name_a_registered_provider(settings: Settings) -> None:
    build(settings.model_copy(update={"providers": "labels=echo"}), labeler=ColorLabeler()).close()
