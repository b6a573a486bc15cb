"""Scale-out on Ray: perf load sent from actors on many machines, on the driver's one clock.

Imported only with ``--ray`` (``assay[ray]``): nothing here is loaded by ``assay --help`` or a
single-machine run. :mod:`assay.scale.ray_perf` holds the driver's side of ``assay perf --ray``,
:mod:`assay.scale.perf_actor` the actor each node runs (the same send loop as ``--workers``).
"""
