"""Failures of a pipeline step that retrying cannot fix."""

from __future__ import annotations


class PermanentError(Exception):
    """A failure that retrying cannot fix (the asset ends FAILED with this reason)."""
