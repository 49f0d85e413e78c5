"""Webhook delivery: Standard Webhooks signing, the SSRF guard, HTTP sending."""
