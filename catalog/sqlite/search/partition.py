"""Training examples apart: the embedded index keeps a tenant's assets uploaded only to teach a concept
under a key of their own (the tenant's ID and a suffix no tenant ID has), so every search path, its
counts and its facets see the archive alone, and a search for the training examples reads their key
alone. Writes and deletions of an asset touch both keys (an example may join the archive)."""

from __future__ import annotations

from catalog.domain.ports import IndexDocument

_SUFFIX = ":training-examples"  # tenant IDs are UUIDs: none ends so


def key(tenant_id: str, training: bool) -> str:
    return tenant_id + _SUFFIX if training else tenant_id


def both(tenant_id: str) -> tuple[str, str]:
    """The archive's key, then the training examples'."""
    return tenant_id, tenant_id + _SUFFIX


def of(doc: IndexDocument) -> str:
    """The key a document is stored under."""
    return key(doc.tenant_id, doc.training_example)


def tenant_of(stored: str) -> str:
    """The tenant of a stored key."""
    return stored.removesuffix(_SUFFIX)
