"""Function calls: read them from a response, and judge them as BFCL and EvalScope's ``general_fc`` do.

- :func:`decode_calls`: the calls the server parsed (``tool_calls``), else those the model wrote in its
  text for a server without a tool parser (Hermes ``<tool_call>`` JSON, ``<function=…>``, Mistral's
  ``[TOOL_CALLS]``, bare JSON, Python call syntax ``[f(a=1), g(b="x")]`` as BFCL's prompt mode asks
  for, or gpt-oss harmony's ``to=functions.NAME`` messages); where they came from is said
  (``tool_calls`` or ``text/<format>``) so a run shows which.
- :func:`openai_tools`: BFCL's function documents as the ``tools`` of an OpenAI request (BFCL's own
  conversion for function-calling models: dots in names become underscores, its type names become JSON
  Schema's).
- :func:`check_ast`: BFCL's AST match (its ``ast_checker``, re-implemented from its rules): the function
  name, every required parameter, no parameter the document or the answer lacks, the type (an int
  passes as a float; nothing else is coerced), the value among the answer's allowed values (strings
  compared without case, spaces and ``,./-_*^``), an optional parameter left out only where the answer
  allows ``""``; parallel calls in any order, their count exact.
- :func:`schema_problem`: ``general_fc``'s check of a call's arguments against its tool's JSON Schema.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BFCL_TO_JSON_SCHEMA = {
    "integer": "integer", "number": "number", "float": "number", "string": "string", "boolean": "boolean",
    "bool": "boolean", "array": "array", "list": "array", "dict": "object", "object": "object",
    "tuple": "array", "any": "string",
}
"""BFCL's parameter types as JSON Schema types (BFCL sends ``any`` as a string)."""

_PYTHON_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "boolean": bool, "array": list, "tuple": list, "dict": dict,
    "any": str,
}
"""The Python type a decoded value of each BFCL type must have (the leaderboard's Python checks)."""


@dataclass(frozen=True)
class Call:
    """One function call: its name and arguments (None when they were not a JSON object)."""

    name: str
    arguments: dict[str, Any] | None
    raw: str
    """The arguments as sent or written."""

    def shown(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments if self.arguments is not None else self.raw}


def json_field(value: Any) -> Any:
    """A row's field that some copies keep as JSON text (EvalScope's ``tools``, ``turns``, ``ground_truth``)."""
    return json.loads(value) if isinstance(value, str) else value


def api_name(name: str) -> str:
    """A function name as OpenAI-style APIs allow it (``^[a-zA-Z0-9_-]{1,64}$``): BFCL turns dots into underscores."""
    return name.replace(".", "_")


# ------------------------------------------------------------------ reading calls
def _arguments(value: Any) -> tuple[dict[str, Any] | None, str]:
    """(the arguments as an object or None, as text) from a JSON text or an object."""
    if isinstance(value, dict):
        return value, json.dumps(value)
    text = "" if value is None else str(value)
    if not text.strip():
        return {}, text
    try:
        parsed = json.loads(text)
    except ValueError:
        return None, text
    return (parsed if isinstance(parsed, dict) else None), text


def calls_sent(tool_calls: Sequence[dict[str, Any]]) -> list[Call]:
    """The server's calls (``{"name", "arguments"}`` as the sample record keeps them)."""
    calls = []
    for sent in tool_calls:
        arguments, raw = _arguments(sent.get("arguments"))
        calls.append(Call(str(sent.get("name") or ""), arguments, raw))
    return calls


def _json_call(item: Any) -> Call | None:
    """A call written as JSON: ``{"name": …, "arguments"|"parameters": {…}}`` or ``{"function": {…}}``."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or not name:
        return None
    arguments, raw = _arguments(item.get("arguments", item.get("parameters", {})))
    return Call(name, arguments, raw)


def _json_calls(text: str) -> list[Call] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("tool_calls"), list):
        parsed = parsed["tool_calls"]
    items = parsed if isinstance(parsed, list) else [parsed]
    calls = [_json_call(item) for item in items]
    return [c for c in calls if c is not None] if calls and all(c is not None for c in calls) else None


def _python_value(node: ast.expr) -> Any:
    """A literal argument value (``ast.literal_eval``: never code)."""
    return ast.literal_eval(node)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _python_calls(text: str) -> list[Call] | None:
    """``[f(a=1), g.h(b="x")]`` or ``f(a=1)``: keyword arguments with literal values only."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    body = tree.body
    nodes = body.elts if isinstance(body, (ast.List, ast.Tuple)) else [body]
    calls = []
    for node in nodes:
        if not isinstance(node, ast.Call) or node.args:
            return None
        name = _dotted(node.func)
        if name is None or any(k.arg is None for k in node.keywords):
            return None
        try:
            arguments = {str(k.arg): _python_value(k.value) for k in node.keywords}
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
        calls.append(Call(name, arguments, json.dumps(arguments, default=str)))
    return calls or None


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FUNCTION_TAG = re.compile(r"<function=([\w.\-]+)>\s*(.*?)\s*</function>", re.S)
_HARMONY_CALL = re.compile(r"to=functions\.([\w.\-]+)(?:(?!<\|message\|>).)*<\|message\|>(.*?)(?:<\|call\|>|$)", re.S)
"""gpt-oss harmony: a ``commentary`` message addressed ``to=functions.NAME`` whose body is the arguments."""


def harmony_calls(text: str) -> list[Call]:
    """The calls in harmony text a server left unparsed (they sit in the ``commentary`` channel, which is
    reasoning to the answer extraction, so they are read from the whole response)."""
    calls = []
    for name, arguments in _HARMONY_CALL.findall(text):
        parsed, raw = _arguments(arguments.strip())
        calls.append(Call(name, parsed, raw))
    return calls


def calls_in_text(text: str) -> tuple[list[Call], str]:
    """(calls, format) the model wrote in its answer text; ``([], "none")`` when it wrote none."""
    body = text.strip()
    if "<tool_call>" in body:
        written = [_json_call(_load(m)) for m in _HERMES.findall(body)]
        return [c for c in written if c is not None], "hermes"
    tagged = _FUNCTION_TAG.findall(body)
    if tagged:
        calls = []
        for name, arguments in tagged:
            parsed, raw = _arguments(arguments)
            calls.append(Call(name, parsed, raw))
        return calls, "function-tag"
    if body.startswith("[TOOL_CALLS]"):
        return _json_calls(body[len("[TOOL_CALLS]"):].strip()) or [], "mistral"
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if body[:1] in "[{":
        found = _json_calls(body)
        if found:
            return found, "json"
    found = _python_calls(body) if body[:1].isalpha() or body[:1] == "[" else None
    if found:
        return found, "python"
    return [], "none"


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def decode_calls(sent: Sequence[dict[str, Any]] | None, text: str, response: str = "") -> tuple[list[Call], str]:
    """(calls, where): the server's parsed calls (``tool_calls``), else the ones written in the answer ``text``
    (``text/<format>``), else harmony calls in the whole ``response`` (``text/harmony``), else none (``none``)."""
    if sent:
        return calls_sent(sent), "tool_calls"
    calls, how = calls_in_text(text)
    if calls:
        return calls, f"text/{how}"
    if "to=functions." in response:
        calls = harmony_calls(response)
        if calls:
            return calls, "text/harmony"
    return [], "none"


# ------------------------------------------------------------------ BFCL documents as OpenAI tools
def _json_schema_types(schema: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter schema with JSON Schema's type names (nested properties and items too)."""
    out = dict(schema)
    kind = out.get("type")
    if kind is not None:
        out["type"] = BFCL_TO_JSON_SCHEMA.get(str(kind), "string")
        if kind == "float":
            out["format"] = "float"
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _json_schema_types(v) if isinstance(v, dict) else v
                             for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _json_schema_types(out["items"])
    return out


def openai_tools(functions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL's function documents as an OpenAI request's ``tools``."""
    tools = []
    for function in functions:
        parameters = _json_schema_types(dict(function.get("parameters") or {"type": "dict", "properties": {}}))
        parameters["type"] = "object"
        tools.append({"type": "function", "function": {
            "name": api_name(str(function["name"])), "description": function.get("description", ""),
            "parameters": parameters,
        }})
    return tools


# ------------------------------------------------------------------ BFCL's AST match
def standardize(text: str) -> str:
    """BFCL's string comparison: no spaces or ``,./-_*^``, lower case, single quotes as double."""
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _std(value: Any) -> Any:
    return standardize(value) if isinstance(value, str) else value


def _answer_type(allowed: Sequence[Any]) -> type | None:
    """The type of the first allowed value that is not ``""`` (the "optional" mark)."""
    return next((type(a) for a in allowed if a != ""), None)


def _type_problem(param: str, value: Any, allowed: Sequence[Any], kind: str, expected: type,
                  nested: type | None) -> tuple[str | None, bool]:
    """(the type problem or None, whether the value is a variable name): one level of nesting, as BFCL checks."""
    answer_type = _answer_type(allowed)
    variable = answer_type is not None and answer_type is not expected
    items: Any = value  # (mypy narrows ``value`` to object below)
    if type(value) is expected:
        if nested is None:
            return None, variable
        for option in allowed:  # each item must have the inner type (for one of the allowed lists)
            if not isinstance(option, list):
                return None, variable
            if all(_type_problem(param, item, option, nested.__name__, nested, None)[0] is None for item in items):
                return None, variable
        return f"type_error:nested: {param!r} should be {kind} of {nested.__name__}, got {value!r}", variable
    if answer_type is not None and type(value) is answer_type:  # a variable name where a value was expected
        return None, True
    return f"type_error:simple: {param!r} should be {kind}, got {type(value).__name__} {value!r}", variable


def _dict_problem(param: str, value: dict[str, Any], allowed: Sequence[Any]) -> str | None:
    problem = f"value_error:dict: {param!r} = {value!r} matches none of the allowed dicts"
    for option in allowed:
        if option == "" or not isinstance(option, dict):
            continue
        if any(k not in option or _std(v) not in [_std(a) for a in option[k]] for k, v in value.items()):
            continue
        if any(k not in value and "" not in v for k, v in option.items()):
            continue
        return None
    return problem


def _list_of_dicts_problem(param: str, value: list[Any], allowed: Sequence[Any]) -> str | None:
    for option in allowed:
        if isinstance(option, list) and len(option) == len(value) and all(
                isinstance(v, dict) and _dict_problem(param, v, [o]) is None for v, o in zip(value, option)):
            return None
    return f"value_error:list_dict: {param!r} = {value!r} matches none of the allowed lists"


def _value_problem(param: str, value: Any, allowed: Sequence[Any], expected: type, nested: type | None) -> str | None:
    if expected is dict:
        return _dict_problem(param, value, allowed)
    if expected is list and nested is dict:
        return _list_of_dicts_problem(param, value, allowed)
    if expected is str:
        if _std(value) in [_std(a) for a in allowed if isinstance(a, str)]:
            return None
        return f"value_error:string: {param!r} = {value!r}, allowed {list(allowed)!r}"
    if expected is list:
        if [_std(v) for v in value] in [[_std(a) for a in option] for option in allowed if isinstance(option, list)]:
            return None
        return f"value_error:list: {param!r} = {value!r}, allowed {list(allowed)!r}"
    if value in allowed:
        return None
    return f"value_error: {param!r} = {value!r}, allowed {list(allowed)!r}"


def check_call(function: dict[str, Any], call: Call, answer: dict[str, list[Any]]) -> str | None:
    """Why ``call`` does not match one function's expected call (BFCL's simple check); None when it does."""
    name = api_name(str(function["name"]))
    if api_name(call.name) != name:
        return f"wrong_func_name: expected {name}, got {call.name}"
    if call.arguments is None:
        return f"decoder_failed: the arguments are not a JSON object: {call.raw[:200]!r}"
    parameters = function.get("parameters") or {}
    details: dict[str, Any] = parameters.get("properties") or {}
    for param in parameters.get("required") or []:
        if param not in call.arguments:
            return f"missing_required: {param!r}"
    for param, value in call.arguments.items():
        if param not in details or param not in answer:
            return f"unexpected_param: {param!r}"
        kind = str(details[param].get("type", "any"))
        expected = _PYTHON_TYPES.get(kind, str)
        nested = None
        if kind in ("array", "tuple"):
            nested = _PYTHON_TYPES.get(str((details[param].get("items") or {}).get("type", "any")), str)
        if kind == "float" and type(value) is int:  # Python's int → float, the one coercion BFCL allows
            value = float(value)
        if kind == "tuple" and type(value) is tuple:  # a tuple written in Python call syntax: JSON has lists only
            value = list(value)
        problem, variable = _type_problem(param, value, answer[param], kind, expected, nested)
        if problem is not None:
            return problem
        if variable:
            if value not in answer[param]:
                return f"value_error: {param!r} = {value!r}, allowed {answer[param]!r}"
            continue
        problem = _value_problem(param, value, answer[param], expected, nested)
        if problem is not None:
            return problem
    for param, allowed in answer.items():
        if param not in call.arguments and "" not in allowed:
            return f"missing_optional: {param!r} is left out, but the answer needs it"
    return None


def _function(functions: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    for function in functions:
        if function["name"] == name:
            return function
    return {"name": name, "parameters": {"properties": {}, "required": []}}


def check_ast(functions: Sequence[dict[str, Any]], calls: Sequence[Call], answers: Sequence[dict[str, Any]],
              category: str) -> str | None:
    """Why ``calls`` do not match the possible answers of a BFCL entry (None: they do).

    ``answers`` is the entry's ``ground_truth``: one ``{function name: {param: [allowed values]}}`` per
    expected call. ``parallel`` categories match calls to answers in any order; the others expect one call.
    """
    if len(calls) != len(answers):
        return f"wrong_count: {len(calls)} call(s), expected {len(answers)}"
    if "parallel" not in category:
        (expected_name, answer), = answers[0].items()
        return check_call(_function(functions, expected_name), calls[0], answer)
    unmatched = list(range(len(calls)))
    for expected in answers:
        (expected_name, answer), = expected.items()
        function = _function(functions, expected_name)
        problems = [(i, check_call(function, calls[i], answer)) for i in unmatched]
        match = next((i for i, problem in problems if problem is None), None)
        if match is None:
            first = problems[0][1] if problems else "no call left"
            return f"cannot_find_match: no call matches {expected_name} ({first})"
        unmatched.remove(match)
    return None


# ------------------------------------------------------------------ general_fc's schema check
def schema_problem(calls: Sequence[Call], tools: Sequence[dict[str, Any]]) -> str | None:
    """Why a call does not fit its tool's JSON Schema (EvalScope ``general_fc``'s check); None when all fit."""
    from jsonschema import ValidationError, validate
    from jsonschema.exceptions import SchemaError

    schemas = {}
    for tool in tools:
        function = tool.get("function", tool)
        schemas[function.get("name")] = function.get("parameters") or {"type": "object"}
    for call in calls:
        schema = schemas.get(call.name)
        if schema is None:
            return f"no tool named {call.name!r}"
        if call.arguments is None:
            try:
                arguments = json.loads(call.raw)
            except ValueError as exc:
                return f"arguments of {call.name!r} are not JSON: {exc}"
        else:
            arguments = call.arguments
        try:
            validate(instance=arguments, schema=schema)
        except ValidationError as exc:
            return f"{call.name!r}: {exc.message}"
        except SchemaError as exc:
            return f"the schema of {call.name!r} is invalid: {exc.message}"
    return None
