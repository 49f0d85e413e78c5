"""Bytes over HTTP: blobs served in ranges (seeking in a video proxy) and uploads spilled to disk."""
