from __future__ import annotations

from catalog.domain.phash import nearest_hashes


def test_nearest_hashes_counts_differing_bits_and_orders_them() -> None:
    candidates = [("same", "ffff000000000000"), ("one_bit", "ffff000000000001"), ("far", "0000ffffffffffff")]
    assert nearest_hashes("ffff000000000000", candidates, 8, 10) == [("same", 0), ("one_bit", 1)]
    assert nearest_hashes("ffff000000000000", candidates, 64, 1) == [("same", 0)]
    assert nearest_hashes("ffff000000000000", [], 8, 10) == []
