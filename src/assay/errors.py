"""One exception hierarchy. Every error a user can cause carries a one-line message.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``;
nothing below this module formats tracebacks for users.
"""

from __future__ import annotations


class AssayError(Exception):
    """Base of every error assay raises on purpose (bad input, unreachable server, ...)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Keep the message on one line: it is what the user sees.
        super().__init__(" ".join(message.split()))


class ConfigError(AssayError):
    """A configuration field is missing, ill-typed or out of range."""

    exit_code = 2


class DatasetError(AssayError):
    """A dataset or tokenizer could not be loaded, or cannot produce what was asked."""

    exit_code = 2


class ServerError(AssayError):
    """The server under test is unreachable or answered every probe with an error."""

    exit_code = 3


class EngineError(AssayError):
    """A local engine (llama-server, vLLM, simulator) could not be built, started or stopped."""

    exit_code = 4
