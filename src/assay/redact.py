"""Keep secrets out of everything assay stores or shows.

Two kinds of secrets reach assay by other routes than ``--api-key`` and ``--headers``:

- credentials written into a URL: ``https://user:pw@host/v1``, ``...?key=…``, ``...?sig=…``;
- a server's error text that echoes the request: its ``Authorization`` header, the API key,
  the query string.

:func:`redact_url` gives the URL as it may be stored or shown (userinfo and secret-looking query
values replaced by ``***``). :class:`Scrubber` takes the secret values a client sends (key, header
values, the URL's credentials) and removes them, and anything that looks like a credential, from
any server text before it is stored or printed. :func:`redact_text` is the last line of defence
for a message about to be printed: every URL in it redacted, every remembered secret removed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

MASK = "***"

MIN_SECRET_CHARS = 4
"""Shorter values are not scrubbed from free text: replacing every "1" or "on" in an error
message would garble it, and a credential that short protects nothing."""

_SECRET_NAME_PARTS = ("key", "token", "secret", "password", "passwd", "pwd", "sig", "auth", "credential",
                      "session", "cookie")
"""A query parameter whose lower-cased name contains one of these holds a secret (``key``, ``api_key``,
``access_token``, ``sig``, ``signature``, ``X-Amz-Credential``, ``client_secret``, ``password`` …)."""

_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
_BEARER_VALUE = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{4,})")
_NAMED_VALUE = re.compile(
    r"(?i)((?:authorization|proxy-authorization|x-api-key|api[-_]?key|access[-_]?token|refresh[-_]?token|"
    r"client[-_]?secret|password|passwd|secret|cookie)[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)"
    r"(?!\*\*\*|(?:bearer|basic|token)\s+\*\*\*)([^\s\"',;}&]+)"
)

_remembered: set[str] = set()


def is_secret_name(name: str) -> bool:
    """True for a query parameter name that says its value is a credential."""
    lower = name.lower()
    return any(part in lower for part in _SECRET_NAME_PARTS)


def redact_url(url: str) -> str:
    """``url`` as it may be stored or shown: userinfo and secret-looking query values masked.

    The rest of the URL is left exactly as given, so that a user recognises it.
    """
    if not url or ("@" not in url and "?" not in url and "#" not in url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_IN_TEXT.sub(MASK, url) if "://" in url else MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    shown = f"{parts.scheme}://{netloc}" if parts.scheme else netloc
    shown += parts.path
    if parts.query or url.split("#", 1)[0].endswith("?"):
        shown += "?" + _redact_query(parts.query)
    if parts.fragment:
        shown += "#" + _redact_query(parts.fragment)
    return shown


def _redact_query(query: str) -> str:
    pieces = []
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        if sep and value and is_secret_name(unquote(name)):
            item = f"{name}={MASK}"
        pieces.append(item)
    return "&".join(pieces)


def url_secrets(url: str) -> list[str]:
    """The secret values a URL holds (userinfo, secret-looking query values), raw and decoded,
    plus the ``Authorization: Basic`` token its userinfo makes."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password, unquote(user), unquote(password)]
        found.append(basic_token(unquote(user), unquote(password)))
    for query in (parts.query, parts.fragment):
        for item in query.split("&"):
            name, sep, value = item.partition("=")
            if sep and value and is_secret_name(unquote(name)):
                found += [value, unquote(value)]
    return [value for value in dict.fromkeys(found) if value]


def basic_token(user: str, password: str) -> str:
    """The credentials of ``Authorization: Basic …`` for a URL's userinfo."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Scrubber:
    """Removes known secret values, and text shaped like a credential, from server text.

    Built once per client from what it sends; :meth:`scrub` runs only on error text, never on
    the streaming hot path.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                values.update((secret, quote(secret, safe=""), quote(secret, safe="/:@")))
        values = {v for v in values if len(v) >= MIN_SECRET_CHARS}
        self.secrets = sorted(values, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, self.secrets))) if self.secrets else None

    def scrub(self, text: str) -> str:
        """``text`` with every known secret, credential-shaped value and URL credential masked."""
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(MASK, text)
        return _scrub_shapes(text)


def _scrub_shapes(text: str) -> str:
    text = _BEARER_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _NAMED_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return text


def remember(*secrets: str | None) -> None:
    """Note secrets this process sends, so that :func:`redact_text` can remove them from any message."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            _remembered.add(secret)


def redact_text(text: str) -> str:
    """A message about to be shown, with every remembered secret and URL credential masked."""
    return Scrubber(_remembered).scrub(text) if text else text
