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


class StorageError(AssayError):
    """A file of the run could not be written (disk full, I/O error, read-only, permission lost).

    The run stops at once: results that cannot be kept must not be measured. The CLI prints it
    as ``assay: cannot write <path>: <reason>``.
    """

    exit_code = 5

    def __init__(self, path: object, error: OSError) -> None:
        self.path = str(path)
        self.reason = error.strerror or str(error) or type(error).__name__
        super().__init__(f"cannot write {self.path}: {self.reason}")


def not_utf8(path: object, error: UnicodeDecodeError) -> DatasetError:
    """The one-line error for a file that is not UTF-8, naming the line (1-based) where it breaks."""
    data = bytes(error.object)  # what was decoded: the file's bytes (after a BOM, for utf-8-sig)
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    column = len(data[line_start:error.start].decode("utf-8", "replace")) + 1
    return DatasetError(f"{path}:{line}: not UTF-8 text (byte {data[error.start]:#04x} at column {column})")
