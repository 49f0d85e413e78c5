"""GraphQL of human review: reviewer queues and answers, rules, requests, reviewers and stats."""
