"""The CEL environment of admission policies (apiserver's ``admission/plugin/cel`` and ``pkg/cel/library``) on
cel-python: compilation with cel-go's messages for undeclared references, the Kubernetes extension functions a policy
commonly calls, and evaluation errors worded as cel-go words them.

cel-python parses and evaluates but does not type-check: an expression cel-go refuses for its types (``must evaluate
to bool``, an overload that cannot exist) is accepted here and fails, if at all, when evaluated. Cost is not
estimated or limited. Syntax errors carry cel-python's text, not ANTLR's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

# The comprehension macros: their first argument names a variable bound inside them.
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_BUILTIN_NAMES = frozenset(
    {"int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type"}
)


class CelCompileError(Exception):
    """An expression the compiler refuses; ``detail`` as the API server's field error words it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CelEvalError(Exception):
    """An evaluation error in cel-go's words (``no such key: x``)."""


def _cel_issue(expression: str, line: int, column: int, text: str) -> str:
    """cel-go's issue format: ``ERROR: <input>:L:C: text``, the source line, and a caret under the column
    (dots before it)."""
    source = expression.split("\n")[line - 1] if expression else ""
    pointer = "^" if column <= 1 else "." * (column - 1) + "^"
    return f"ERROR: <input>:{line}:{column}: {text}\n | {source}\n | {pointer}"


def _idents(tree: Any) -> Iterator[tuple[str, int, int]]:
    """Free identifiers (``primary > ident``) and global function names, with line and column."""
    for node in tree.iter_subtrees_topdown():
        if node.data == "primary" and node.children and getattr(node.children[0], "data", None) == "ident":
            token = node.children[0].children[0]
            yield str(token), token.line, token.column
        elif node.data == "ident_arg":
            token = node.children[0]  # cel-go points at the call's parenthesis
            yield str(token), token.line, token.column + len(str(token))


def _bound(tree: Any) -> set[str]:
    """Names the comprehension macros bind (``x`` of ``list.all(x, ...)``)."""
    names: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and len(node.children) >= 3 and str(node.children[1]) in _MACROS:
            first = node.children[2].children[0] if node.children[2].children else None
            for ident, _, _ in _idents(first) if first is not None else ():
                names.add(ident)
                break
    return names


@functools.lru_cache(maxsize=1024)
def _parse(expression: str) -> Any:
    try:
        return celpy.Environment().compile(expression)
    except CELParseError as err:
        line, column = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
        first = str(err).split("\n")[0]
        raise CelCompileError(
            "compilation failed: " + _cel_issue(expression, line, column, f"Syntax error: {first}")
        ) from None


def compile_expression(expression: str, declared: frozenset[str]) -> Any:
    """The parsed expression; a :class:`CelCompileError` for a syntax error or a name not in ``declared``
    (the variables) nor among the functions."""
    tree = _parse(expression)
    allowed = declared | _bound(tree) | FUNCTION_NAMES | _BUILTIN_NAMES
    for name, line, column in _idents(tree):
        if name not in allowed:
            issue = _cel_issue(
                expression, line, column, f"undeclared reference to '{name}' (in container '')"
            )
            raise CelCompileError(f"compilation failed: {issue}")
    return tree


@functools.lru_cache(maxsize=1024)
def names_used(expression: str) -> frozenset[str]:
    """The free identifiers an expression reads (so an activation need only convert those)."""
    try:
        return frozenset(name for name, _, _ in _idents(_parse(expression)))
    except CelCompileError:
        return frozenset()


@functools.lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    env = celpy.Environment()
    return env.program(_parse(expression), functions=FUNCTIONS)


def to_cel(value: Any) -> Any:
    return celpy.json_to_cel(value)  # type: ignore[attr-defined]


def evaluate(expression: str, activation: Mapping[str, Any]) -> Any:
    """The expression's value over ``activation`` (CEL values); :class:`CelEvalError` in cel-go's words."""
    try:
        result = _program(expression).evaluate(dict(activation))
    except CELEvalError as err:
        raise CelEvalError(_go_error(err)) from None
    if isinstance(result, CELEvalError):
        raise CelEvalError(_go_error(result))
    return result


_MEMBER = re.compile(r"no such member in mapping: '(.*)'")


def _go_error(err: Exception) -> str:
    """cel-python's evaluation errors in cel-go's words where they differ."""
    message = str(err.args[0]) if err.args else str(err)
    found = _MEMBER.match(message)
    if found:
        return f"no such key: {found.group(1)}"
    if message == "no such key" and len(err.args) > 2 and err.args[2]:
        return f"no such key: {err.args[2][0]}"
    if message.startswith("undeclared reference to"):
        return message.split(" (in activation", 1)[0]
    if message == "modulus or divide by zero":
        return "division by zero"
    if message.startswith("found no matching overload"):
        return "no such overload"
    if "ZoneInfo keys" in repr(err.args):  # a path, not a name (Go refuses "..", a leading slash)
        return "time: invalid location name"
    zone = _ZONE.search(repr(err.args))
    if zone:  # getHours(tz) and friends on a zone the database does not hold: Go's time.LoadLocation error
        name = zone.group(1)
        invalid = ".." in name or name.startswith(("/", "\\"))
        return "time: invalid location name" if invalid else f"unknown time zone {name}"
    return message


go_error = _go_error


_ZONE = re.compile(r"Unparsable timezone: StringType\('((?:[^'\\]|\\.)*)'\)")


# --- the Kubernetes extension library (the strings, lists and regex libraries) -----------------------------


def _str(value: Any) -> str:
    return str(value)


def _split(s: Any, sep: Any, limit: Any = None) -> Any:
    parts = (
        _str(s).split(_str(sep))
        if limit is None or int(limit) < 0
        else _str(s).split(_str(sep), int(limit) - 1)
    )
    if limit is not None and int(limit) == 0:
        parts = []
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    text = _str(s)
    stop = len(text) if end is None else int(end)
    if int(start) < 0 or stop > len(text) or int(start) > stop:
        raise CelEvalError(f"index out of range: {int(start) if int(start) < 0 else stop}")
    return celtypes.StringType(text[int(start) : stop])


def _index_of(target: Any, item: Any, offset: Any = None) -> Any:
    if isinstance(target, celtypes.ListType):
        return celtypes.IntType(next((i for i, v in enumerate(target) if v == item), -1))
    return celtypes.IntType(_str(target).find(_str(item), int(offset or 0)))


def _last_index_of(target: Any, item: Any) -> Any:
    if isinstance(target, celtypes.ListType):
        return celtypes.IntType(max((i for i, v in enumerate(target) if v == item), default=-1))
    return celtypes.IntType(_str(target).rfind(_str(item)))


def _find_all(s: Any, pattern: Any, limit: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(_str(pattern), _str(s))]
    if limit is not None and int(limit) >= 0:
        found = found[: int(limit)]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


def _find(s: Any, pattern: Any) -> Any:
    match = re.search(_str(pattern), _str(s))
    return celtypes.StringType(match.group(0) if match else "")


def _join(items: Any, sep: Any = "") -> Any:
    return celtypes.StringType(_str(sep).join(_str(i) for i in items))


def _numbers(items: Any, pick: Callable[[Any], Any]) -> Any:
    if not items:
        raise CelEvalError("min called on empty list" if pick is min else "max called on empty list")
    return pick(items)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": lambda s: celtypes.StringType(_str(s).lower()),
    "upperAscii": lambda s: celtypes.StringType(_str(s).upper()),
    "trim": lambda s: celtypes.StringType(_str(s).strip()),
    "replace": lambda s, old, new, n=-1: celtypes.StringType(_str(s).replace(_str(old), _str(new), int(n))),
    "split": _split,
    "join": _join,
    "substring": _substring,
    "charAt": lambda s, i: celtypes.StringType(_str(s)[int(i) : int(i) + 1]),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "find": _find,
    "findAll": _find_all,
    "isSorted": lambda items: celtypes.BoolType(list(items) == sorted(items)),
    "sum": lambda items: (
        sum(items, celtypes.IntType(0)) if not items or isinstance(items[0], int) else sum(items)
    ),
    "min": lambda items: _numbers(items, min),
    "max": lambda items: _numbers(items, max),
}
FUNCTION_NAMES = frozenset(
    {
        *FUNCTIONS,
        "size",
        "has",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "duration",
        "timestamp",
        *(f"get{part}" for part in ("Date", "DayOfMonth", "DayOfWeek", "DayOfYear", "FullYear", "Month")),
        *(f"get{part}" for part in ("Hours", "Milliseconds", "Minutes", "Seconds")),
    }
)


def literal_type(tree: Any) -> str | None:
    """The output type cel-go's checker gives an expression that is only a literal or a field path (``dyn``);
    None for anything else (not checked here)."""
    node = tree
    while (
        getattr(node, "data", None) not in ("member", "member_dot")
        and len(getattr(node, "children", ())) == 1
    ):
        node = node.children[0]
    if any(name == "variables" for name, _, _ in _idents(node)):
        return None  # composition types each variable: not known here
    if getattr(node, "data", None) == "member_dot":
        return "dyn"
    if getattr(node, "data", None) != "member" or len(node.children) != 1:
        return None
    inner = node.children[0]
    if getattr(inner, "data", None) == "member_dot":
        return "dyn"
    if getattr(inner, "data", None) != "primary" or not inner.children:
        return None
    child = inner.children[0]
    kind = getattr(child, "data", None)
    if kind == "ident":
        return "dyn"
    if kind == "literal" and child.children:
        token_type = getattr(child.children[0], "type", "")
        return _LITERALS.get(str(token_type))
    return None


_LITERALS = {
    "INT_LIT": "int",
    "UINT_LIT": "uint",
    "FLOAT_LIT": "double",
    "STRING_LIT": "string",
    "MLSTRING_LIT": "string",
    "BOOL_LIT": "bool",
    "NULL_LIT": "null_type",
}
