"""Reprocessing: tracked batches that run analyzers again over a tenant's assets, and which models made
the archive's current runs (what a reprocess of the outdated ones runs again)."""
