"""Connecting to a Ray cluster and placing actors on its nodes, with one-line errors."""

from __future__ import annotations

import os
import socket
from typing import Any

from assay.errors import ConfigError


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, which is not installed: pip install 'assay[ray]'")
    return ray


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (None or ``"auto"``: ``RAY_ADDRESS``, a running local cluster, or a new
    local one, as ``ray.init()`` chooses) and return the ``ray`` module; a cluster that cannot be reached is one
    line."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    target = None if address in (None, "auto") else address
    _check_reachable(target or os.environ.get("RAY_ADDRESS"))
    try:
        ray.init(address=target, logging_level="ERROR", log_to_driver=False, configure_logging=True)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, ... : all mean "not reachable"
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {target or 'the default address'}: {reason}")
    return ray


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """A ``host:port`` cluster address must take a TCP connection: ``ray.init`` itself would retry for minutes."""
    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray: a cluster address is host:port (the head's GCS port, 6379 by default), got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}")


def alive_nodes(ray: Any) -> list[str]:
    """Ids of the cluster's alive nodes, in a stable order."""
    return sorted(node["NodeID"] for node in ray.nodes() if node.get("Alive"))


def placement(ray: Any, actor: int, nodes: list[str]) -> Any:
    """Where actor number ``actor`` goes: the nodes in turn (Ray's own SPREAD may put all on one node)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(nodes[actor % len(nodes)], soft=True)


__all__ = ["alive_nodes", "connect", "import_ray", "placement"]
