"""Check the direction of imports between the project's layers, and that no package folder grows past
MAX_MODULES modules. Run by the tests (tests/scripts/test_check_imports.py); run it by hand with
`.venv/bin/python scripts/check_imports.py` (exit status 1 and one line per violation when it fails).

    entrypoints (mediasight/ CLI and composition root, api/, indexer/worker.py) -> services -> domain
    adapters (catalog/<backend>/, indexer/recognizers/<provider>/) -> domain

Every import counts: at module top, inside functions (lazy ones) and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("catalog", "services", "indexer", "api", "mediasight")
MAX_MODULES = 25

ADAPTERS = (
    "catalog.sqlite",
    "catalog.dynamodb",
    "catalog.opensearch",
    "catalog.aws",
    "catalog.local",
    "indexer.recognizers.local",
    "indexer.recognizers.rekognition",
)
# Vendor SDKs and frameworks: adapters and entrypoints use them, the domain and the services never do.
VENDORS = (
    "boto3",
    "botocore",
    "aioboto3",
    "aiobotocore",
    "opensearchpy",
    "onnxruntime",
    "onnx",
    "cv2",
    "dlib",
    "face_recognition_models",
    "rapidocr",
    "tokenizers",
    "safetensors",
    "strawberry",
    "graphql",
    "starlette",
    "uvicorn",
    "typer",
    "rich",
    "pydantic_settings",
    "sqlite3",
)
ENTRYPOINTS = ("mediasight", "api")


@dataclass(frozen=True)
class Rule:
    importer: tuple[str, ...]  # modules (and their submodules) the rule applies to
    forbidden: tuple[str, ...]  # what they must not import
    unless: tuple[str, ...] = ()  # importers it does not apply to (more specific modules)
    allowed: tuple[str, ...] = ()  # imports it allows among the forbidden ones (more specific modules)
    why: str = ""


RULES = (
    Rule(
        ("catalog.domain",),
        ("catalog", "services", "indexer", *ENTRYPOINTS, *VENDORS, "PIL"),
        allowed=("catalog.domain",),
        why="the domain is pure: no adapters, services, entrypoints or vendors",
    ),
    Rule(
        ("indexer.recognizers.ports",),
        ("services", *ENTRYPOINTS, *ADAPTERS, *VENDORS),
        why="recognizer ports are domain-level",
    ),
    Rule(
        ADAPTERS,
        ("services", *ENTRYPOINTS, "indexer.worker", "indexer.pipeline"),
        why="adapters implement ports; they do not call use cases or entrypoints",
    ),
    *(
        Rule(
            (family,),
            ADAPTERS,
            # A file-system helper the two local adapters (folder blobs, model caches) share.
            allowed=(family, "catalog.local.atomic_file"),
            why="one adapter family does not reach into another",
        )
        for family in ADAPTERS
    ),
    Rule(
        ("services",),
        (*ENTRYPOINTS, *ADAPTERS, *VENDORS),
        why="services use ports, never adapters, entrypoints or vendor SDKs",
    ),
    Rule(
        ("indexer",),
        (*ENTRYPOINTS, *ADAPTERS),
        unless=ADAPTERS,
        why="the pipeline runs behind ports: it never picks adapters (bootstrap does)",
    ),
    Rule(("api",), ("mediasight", *ADAPTERS), why="the API is handed its services (api/service_ports.py)"),
)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file; `from a import b` counts as a.b too, since
    b may be a module."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else ():
            importer = _module_name(path, root)
            reported = set()  # one line per offending import statement
            for line, imported in imports(path):
                if line in reported:
                    continue
                for rule in RULES:
                    if not _within(importer, rule.importer) or _within(importer, rule.unless):
                        continue
                    if _within(imported, rule.forbidden) and not _within(imported, rule.allowed):
                        where = path.relative_to(root)
                        out.append(f"{where}:{line}: {importer} imports {imported}: {rule.why}")
                        reported.add(line)
                        break
    return out + oversized(root)


def oversized(root: Path = ROOT) -> list[str]:
    out = []
    for package in PACKAGES:
        for folder in [root / package, *(p for p in (root / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            if len(modules) > MAX_MODULES:
                where = folder.relative_to(root)
                out.append(
                    f"{where}/: {len(modules)} modules (> {MAX_MODULES}): it holds two rooms, split it"
                )
    return out


def main() -> int:
    found = violations()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
