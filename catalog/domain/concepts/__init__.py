"""Custom concepts: a tenant's own categories, learned from example assets (model, records, storage ports)."""
