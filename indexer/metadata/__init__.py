"""Embedded metadata (IPTC-IIM, XMP, EXIF): read at ingest and written on export, through exiv2."""
