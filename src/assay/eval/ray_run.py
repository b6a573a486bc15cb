"""``assay eval --ray``: the samples × repeats of one run sent from Ray actors, judged and journaled here.

The driver (the process that runs ``run_task``) keeps everything a run owns: the samples, the
run directory and its journal (``samples.jsonl``), the judges, the progress and the report. Only
the generations travel: each request goes to one of the run's actors (the one with the fewest in
flight), which sends it through its own client(s) (every ``api_url``, ``url_strategy`` between
them) with the run's retries, and hands back the :class:`~assay.client.Response`. The driver then
judges it exactly as a single-process run does and appends the record to the journal the moment it
arrives, so a killed driver loses only the requests in flight, and ``use_cache`` resumes the run
like any other: nothing lost, nothing twice, and the same answers give the same report.

An actor that dies (its process or its node lost) fails the requests it held: each is recorded as an
error with the reason ``worker lost`` (never as a wrong answer; a resume asks it again) and the run
goes on with the actors left. When none is left, the run stops with one line saying so.

Ray is imported here only, when a run asks for it: ``pip install 'assay[ray]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from assay.client import ChatOrCompletionRequest, Response
from assay.errors import ConfigError, ServerError

WORKER_LOST = "worker lost"
"""The reason recorded for a request whose actor (process or node) was lost while it was in flight."""
RAY_DEFAULT = "auto"
"""``ray_address`` meaning Ray's own choice (as ``ray.init()``): ``RAY_ADDRESS``, a running local cluster, or a
new local one (``--ray`` without an address; perf's ``--ray`` says the same)."""


def connect(address: str) -> Any:
    """``ray``, connected to the cluster at ``address`` (:data:`RAY_DEFAULT`: Ray's own choice); a
    one-line :class:`ConfigError` (exit 2) when Ray is not installed or the cluster cannot be reached
    (perf's :func:`assay.scale.cluster.connect`, after a quick look that something listens there)."""
    import os

    from assay.scale.cluster import connect as join
    from assay.scale.cluster import import_ray

    ray = import_ray()
    if not ray.is_initialized():
        # Ray retries an address where nothing listens for minutes, logging each try: a plain connection
        # first says in a second whether anything is there.
        target = os.environ.get("RAY_ADDRESS", "") if address == RAY_DEFAULT else address
        problem = _unreachable(target)
        if problem is not None:
            raise ConfigError(f"cannot reach the Ray cluster at {target}: {problem}")
    return join(address)


def _unreachable(address: str, timeout_s: float = 5.0) -> str | None:
    """Why nothing answers at ``address`` (``host:port`` or ``ray://host:port``), or None: it answers, or
    the address is not one to test this way (``auto``, empty)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        import os

        return os.strerror(exc.errno) if exc.errno else (str(exc) or type(exc).__name__)


class EvalActor:
    """One Ray actor of an eval run: its own client(s) to the service, sending what the driver hands it."""

    def __init__(self, name: str, urls: list[str], client_args: dict[str, Any], retries: int, seed: int | None) -> None:
        self.name = name
        self.urls = urls
        self.client_args = client_args
        self.retries = retries
        self.rng = random.Random(f"{seed}/{name}")
        self.client: Any = None

    async def _client(self) -> Any:
        if self.client is None:
            from assay.client.fleet import open_client

            client = open_client(self.urls, **self.client_args)
            await client.__aenter__()
            self.client = client
        return self.client

    async def check(self, api_key: str | None) -> str | None:
        """The one-line problem with the service as this actor reaches it (each endpoint), or None."""
        from assay.client.fleet import clients_of
        from assay.eval.runner import check_service

        client = await self._client()
        try:
            for each in clients_of(client):
                await check_service(each, api_key)
        except ServerError as exc:
            return str(exc)
        return None

    async def send(self, request: ChatOrCompletionRequest) -> tuple[Response, int, str]:
        """The response (retried as a single-process run retries), how many tries it took, and this actor."""
        from assay.eval.runner import send_with_retries

        response, attempts = await send_with_retries(await self._client(), request, self.retries, self.rng)
        return response, attempts, self.name


class RaySender:
    """The driver's side: the run's actors, each request sent to the one with the fewest in flight."""

    def __init__(self, ray: Any, actors: Sequence[Any], names: Sequence[str]) -> None:
        self.actors = list(actors)
        self.names = list(names)
        self.in_flight = [0] * len(self.actors)
        self.alive = [True] * len(self.actors)
        self.lost_error: type[BaseException] | tuple[type[BaseException], ...] = _lost_errors(ray)

    async def check(self, api_key: str | None) -> None:
        """Fail fast, as a single-process run does, on a service the actors cannot use."""
        try:
            problems = await asyncio.gather(*(actor.check.remote(api_key) for actor in self.actors))
        except self.lost_error as exc:
            raise ServerError(f"a Ray actor of the run was lost before it sent anything: {exc}") from None
        for problem in problems:
            if problem is not None:
                raise ServerError(problem)

    async def send(self, request: ChatOrCompletionRequest) -> tuple[Response, int, str]:
        """(response, tries, actor); a lost actor's request is a failed response with reason ``worker lost``."""
        alive = [k for k, up in enumerate(self.alive) if up]
        if not alive:
            raise ServerError(f"every Ray actor of the run was lost ({len(self.actors)}); resume the run with "
                              "use_cache once the cluster is back")
        chosen = min(alive, key=lambda k: self.in_flight[k])
        self.in_flight[chosen] += 1
        started_ns = time.perf_counter_ns()
        try:
            return tuple(await self.actors[chosen].send.remote(request))  # type: ignore[return-value]
        except self.lost_error:
            self.alive[chosen] = False
            failed = Response(started_ns, time.perf_counter_ns(), error=WORKER_LOST, error_kind="worker")
            return failed, 1, self.names[chosen]
        finally:
            self.in_flight[chosen] -= 1


def _lost_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """What Ray raises for a call whose actor died, or whose node (and so the actor's result) was lost."""
    from ray import exceptions

    names = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "OwnerDiedError", "ObjectLostError",
             "NodeDiedError", "WorkerCrashedError", "LocalRayletDiedError")
    return tuple(getattr(exceptions, name) for name in names if isinstance(getattr(exceptions, name, None), type))


@contextlib.asynccontextmanager
async def ray_sender(address: str, actors: int | None, urls: list[str], client_args: dict[str, Any], retries: int,
                     seed: int | None, concurrency: int) -> AsyncIterator[RaySender]:
    """The run's actors, started on the cluster at ``address`` (spread over its nodes) and ended after."""
    from assay.scale.cluster import alive_nodes, placement

    ray = connect(address)
    nodes = alive_nodes(ray)
    count = actors or max(1, len(nodes))  # default: one actor per node
    per_actor = max(1, -(-concurrency // count))
    remote = ray.remote(EvalActor)
    names = [f"actor-{k}" for k in range(count)]
    handles = [remote.options(num_cpus=0, max_concurrency=per_actor + 2, max_restarts=0, max_task_retries=0,
                              scheduling_strategy=placement(ray, k, nodes)).remote(name, urls, client_args, retries, seed)
               for k, name in enumerate(names)]
    sender = RaySender(ray, handles, names)
    try:
        yield sender
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)


__all__ = ["RAY_DEFAULT", "WORKER_LOST", "EvalActor", "RaySender", "connect", "ray_sender"]
