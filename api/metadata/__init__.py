"""GraphQL of metadata in and out: embedded metadata, exports, profiles, background exports, webhooks."""
