"""Several endpoints behind one client: :class:`ClientFleet`, picking an endpoint per request.

A fleet holds one :class:`~assay.client.openai.OpenAIClient` per URL and has the same surface
(``send(request) -> Response``, ``warm``, an async context), so perf's send loop, ``--workers``
processes and eval use it unchanged. Each response says which endpoint served it
(:attr:`Response.endpoint`, the URL with its credentials masked), so a run's records and metrics
can be split per endpoint.

Strategies (``--url-strategy``):

- ``round-robin``: request ``i`` goes to endpoint ``i mod n``: an exact split, whatever each
  endpoint's speed;
- ``least-inflight``: each request goes to the endpoint with the fewest requests in flight from
  this client (ties in turn), so a slower endpoint, which holds its requests longer, gets fewer.

:func:`open_client` makes a plain client for one URL (exactly as before) and a fleet for several.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.client.openai import ChatOrCompletionRequest, OpenAIClient
from assay.client.response import Response
from assay.constants import URL_STRATEGIES


class ClientFleet:
    """One client per endpoint, used as one: each request goes to the endpoint the strategy picks."""

    def __init__(self, clients: Sequence[OpenAIClient], strategy: str = "round-robin") -> None:
        if not clients:
            raise ValueError("a fleet needs at least one client")
        if strategy not in URL_STRATEGIES:
            raise ValueError(f"url strategy: one of {', '.join(URL_STRATEGIES)}, got {strategy!r}")
        self.clients = list(clients)
        self.strategy = strategy
        self.in_flight = [0] * len(self.clients)
        """Requests in flight per endpoint, from this fleet."""
        self.sent = [0] * len(self.clients)
        """Requests sent per endpoint, from this fleet."""
        self.endpoints = [client.shown_url for client in self.clients]
        """Each endpoint as it may be stored or shown (credentials masked)."""
        self._next = 0

    # The first endpoint stands for the fleet where one URL is asked for (its kind, a test request's body).
    @property
    def url(self) -> str:
        return self.clients[0].url

    @property
    def shown_url(self) -> str:
        return ", ".join(self.endpoints)

    @property
    def kind(self) -> str:
        return self.clients[0].kind

    def body(self, request: ChatOrCompletionRequest) -> dict[str, Any]:
        return self.clients[0].body(request)

    async def __aenter__(self) -> ClientFleet:
        entered: list[OpenAIClient] = []
        try:
            for client in self.clients:
                await client.__aenter__()
                entered.append(client)
        except BaseException:
            for client in entered:
                await client.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self.clients:
            await client.__aexit__(*exc_info)

    async def warm(self, connections: int) -> int:
        """Open ``connections`` keep-alive connections, shared out as the requests will be."""
        count = len(self.clients)
        if self.strategy == "round-robin":  # endpoint k gets every n-th request: its share of the slots
            shares = [connections // count + (1 if k < connections % count else 0) for k in range(count)]
        else:  # any endpoint may hold every slot when the others are slow
            shares = [connections] * count
        opened = 0
        for client, share in zip(self.clients, shares):
            if share:
                opened += await client.warm(share)
        return opened

    def pick(self) -> int:
        """The endpoint (its position) the next request goes to."""
        count = len(self.clients)
        if self.strategy == "round-robin":
            chosen = self._next
            self._next = (chosen + 1) % count
            return chosen
        # least-inflight: the fewest in flight; among equals, the first at or after the turn's start,
        # so that an idle fleet still takes its endpoints in turn.
        start = self._next
        in_flight = self.in_flight
        chosen = min(range(count), key=lambda k: (in_flight[k], (k - start) % count))
        self._next = (chosen + 1) % count
        return chosen

    async def send(self, request: ChatOrCompletionRequest) -> Response:
        """Send ``request`` to the endpoint the strategy picks; the response names that endpoint."""
        chosen = self.pick()
        self.in_flight[chosen] += 1
        self.sent[chosen] += 1
        try:
            response = await self.clients[chosen].send(request)
        finally:
            self.in_flight[chosen] -= 1
        response.endpoint = self.endpoints[chosen]
        return response


AnyClient = OpenAIClient | ClientFleet
"""What the send loop and eval send through: one endpoint's client or a fleet."""


def open_client(url: str | Sequence[str], *, url_strategy: str = "round-robin", **client_args: Any) -> AnyClient:
    """A client for ``url``: a plain :class:`OpenAIClient` for one URL, a :class:`ClientFleet` for several.

    ``client_args`` are :class:`OpenAIClient`'s keyword arguments, shared by every endpoint (picklable:
    worker processes and actors make their own client from them).
    """
    urls = [url] if isinstance(url, str) else list(url)
    if len(urls) == 1:
        return OpenAIClient(urls[0], **client_args)
    return ClientFleet([OpenAIClient(each, **client_args) for each in urls], url_strategy)


def clients_of(client: AnyClient) -> list[OpenAIClient]:
    """Each endpoint's own client (one for a plain client)."""
    return list(client.clients) if isinstance(client, ClientFleet) else [client]


__all__ = ["URL_STRATEGIES", "AnyClient", "ClientFleet", "clients_of", "open_client"]
