"""Limits on what a request may ask: its bytes and JSON (request_limits), then its GraphQL document
(query_limits, with repeated selections and a static cost)."""
