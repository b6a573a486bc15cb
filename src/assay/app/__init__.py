"""``assay app``: look at eval and perf runs in a browser (local, offline, read-only)."""

from assay.app.server import create_app, serve

__all__ = ["create_app", "serve"]
