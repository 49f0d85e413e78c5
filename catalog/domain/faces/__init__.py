"""Faces in the domain: identity thresholds, matching, and their JSON encoding."""
