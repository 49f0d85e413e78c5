"""Custom concepts in GraphQL: types, queries and mutations."""
