"""The real Ray cluster the scale-out tests share (one per test session: it takes seconds to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.cluster import RayCluster, unavailable_reason


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Two Ray nodes (1 CPU each, small object store) in a private network namespace; skips without root."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with RayCluster() as cluster:
        yield cluster
