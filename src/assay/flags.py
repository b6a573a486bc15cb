"""Command-line flags declared on a config dataclass's fields, once.

A field that carries ``metadata=flag(...)`` is an option of the command line: its flag, help,
group and parsing live beside its type and default, and :func:`add_flags` builds the argparse
arguments, :func:`flag_values` maps parsed arguments back to field values, and
:func:`command_line` writes the arguments that reproduce a config (to start ``assay sim`` in a
child process). A new option is then one field, not three edits.

The argparse default of every flag is "absent" (``argparse.SUPPRESS``): a flag not given leaves
its field at the dataclass default, so defaults are declared once too. Kept free of heavy
imports: ``assay --help`` builds nothing from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FLAG = "assay.flag"
"""The key of a field's :class:`Flag` in its metadata."""


@dataclass(frozen=True)
class Flag:
    """How a dataclass field appears on the command line (argparse's words where they fit)."""

    help: str | None = None
    group: str | None = None
    """The argument group it is listed under in ``--help`` (None: the parser's own list)."""
    names: tuple[str, ...] = ()
    """Its option strings (default: ``--field-name``); more than one are aliases."""
    parse: Callable[[str], Any] | None = None
    """Parses one command-line word (default: from the annotation: int, float or str)."""
    nargs: str | int | None = None
    """argparse's nargs (default: ``+`` for a list field)."""
    metavar: str | tuple[str, ...] | None = None
    choices: Sequence[str] | None = None
    const: Any = None
    action: str | type[argparse.Action] | None = None
    """argparse's action (default: ``store_true`` for a bool field that defaults to False)."""
    convert: Callable[[Any], Any] | None = None
    """Turns what argparse parsed into the field's value (e.g. NAME=VALUE pairs into a dict)."""
    write: Callable[[Any], list[str]] | None = None
    """The command-line words after the flag that give a value back (for :func:`command_line`)."""


def flag(help: str | None = None, **options: Any) -> dict[str, Flag]:
    """Field metadata declaring the field's command-line flag: ``field(default=1, metadata=flag("..."))``."""
    return {FLAG: Flag(help, **options)}


def _flags(cls: type) -> list[tuple[dataclasses.Field[Any], Flag]]:
    return [(f, f.metadata[FLAG]) for f in dataclasses.fields(cls) if FLAG in f.metadata]


def _annotation(f: dataclasses.Field[Any]) -> list[str]:
    """The options of a field's annotation as text: ``int | None`` -> ``["int", "None"]``."""
    return [part.strip() for part in str(f.type).split("|")]


_TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float}


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def add_flags(parser: argparse.ArgumentParser, cls: type, groups: dict[str, Any] | None = None) -> None:
    """Add an argument for each field of dataclass ``cls`` that declares a flag, in field order.

    ``groups`` maps a flag's group name to an argument group made beforehand; a group not there
    is made on first use, titled by its name.
    """
    groups = {} if groups is None else groups
    for f, spec in _flags(cls):
        target: Any = parser
        if spec.group is not None:
            if spec.group not in groups:
                groups[spec.group] = parser.add_argument_group(spec.group)
            target = groups[spec.group]
        names = spec.names or (f"--{f.name.replace('_', '-')}",)
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if spec.help is not None:
            kwargs["help"] = spec.help
        options = _annotation(f)
        action = spec.action
        if action is None and options == ["bool"]:
            action = "store_false" if _default(f) else "store_true"
        if action is not None:
            kwargs["action"] = action
        if action is None or action == "append":
            scalar = next((o[5:-1] for o in options if o.startswith("list[")), None) or options[0]
            parse = spec.parse or _TYPES.get(scalar)
            if parse is not None:
                kwargs["type"] = parse
            nargs = spec.nargs
            if nargs is None and action is None and any(o.startswith("list[") for o in options):
                nargs = "+"
            if nargs is not None:
                kwargs["nargs"] = nargs
            if spec.const is not None:
                kwargs["const"] = spec.const
            if spec.choices is not None:
                kwargs["choices"] = spec.choices
        if spec.metavar is not None:
            kwargs["metavar"] = spec.metavar
        target.add_argument(*names, **kwargs)


def flag_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The field values given on the command line (flags not given are left out: their defaults apply)."""
    given = vars(args)
    values = {}
    for f, spec in _flags(cls):
        if f.name in given:
            value = given[f.name]
            values[f.name] = spec.convert(value) if spec.convert is not None else value
    return values


def command_line(config: Any) -> list[str]:
    """Arguments that give ``config``'s flagged fields their values on the command line (defaults left out)."""
    words: list[str] = []
    for f, spec in _flags(type(config)):
        value = getattr(config, f.name)
        if value == _default(f):
            continue
        name = (spec.names or (f"--{f.name.replace('_', '-')}",))[0]
        if spec.write is not None:
            for part in _chunks(spec.write(value), name, spec.action == "append"):
                words.extend(part)
        elif isinstance(value, bool):
            if spec.action is argparse.BooleanOptionalAction:
                words.append(name if value else f"--no-{name[2:]}")
            else:
                words.append(name)  # store_true / store_false: the flag flips the default
        elif isinstance(value, (list, tuple)):
            words.extend([name, *map(str, value)])
        elif isinstance(value, dict):
            words.extend([name, json.dumps(value)])
        else:
            words.extend([name, str(value)])
    return words


def _chunks(values: Iterable[str], name: str, repeat: bool) -> list[list[str]]:
    """``--name v1 v2`` or, for an ``append`` flag, ``--name v1 --name v2``."""
    values = list(values)
    if repeat:
        return [[name, value] for value in values]
    return [[name, *values]] if values else []


def json_object(text: str) -> dict[str, Any]:
    """A command-line word holding a JSON object (``--extra-args '{"ignore_eos": true}'``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at character {exc.pos}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"ignore_eos\": true}}', got {text!r}")
    return value


def header(text: str) -> tuple[str, str]:
    """A ``NAME=VALUE`` (or ``NAME: VALUE``) request header."""
    name, sep, value = text.partition("=")
    if not sep:
        name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"headers are NAME=VALUE pairs, got {text!r}")
    return name.strip(), value.strip()


def header_words(headers: dict[str, str]) -> list[str]:
    """``{"X-A": "b"}`` -> ``["X-A=b"]``: what :func:`header` reads back."""
    return [f"{name}={value}" for name, value in headers.items()]


def integer(text: str) -> int:
    """An integer, with a message that says so (argparse's own names the Python type)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def one_or_many(values: list[str]) -> str | list[str]:
    """A flag given once or more (``--url A --url B``): the one value itself, or the list of them."""
    return values[0] if len(values) == 1 else list(values)


def url_words(value: str | list[str]) -> list[str]:
    """The values of a flag given once or more, for :func:`command_line` (``--url A --url B``)."""
    return [value] if isinstance(value, str) else list(value)
