"""What a tenant may be called: a short, plain, printable name (it shows in commands, logs and paths)."""

from __future__ import annotations

import re

MAX_TENANT_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class TenantNameError(ValueError):
    pass


def check_tenant_name(name: str) -> str:
    """The name, or TenantNameError saying what a name may hold."""
    if not name or len(name) > MAX_TENANT_NAME or not _NAME.fullmatch(name):
        shown = repr(name) if len(name) <= 80 else repr(name[:80]) + "…"
        raise TenantNameError(
            f"{shown} is not a tenant name: use 1 to {MAX_TENANT_NAME} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. acme, news-desk)"
        )
    return name
