"""``deployreq run``'s operator flags, generated from :class:`deployreq.config.Settings`.

Each field with :func:`deployreq.config.flag` metadata becomes one flag: its name and parsing from the metadata, its
help from the field's docstring, its default from the field's default (a duration shown back as ``15s``, ``1h``). A
new setting is a new field; the parser and :func:`settings_from` follow without an edit here.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any

from deployreq.config import Settings
from deployreq.durations import duration_arg, format_seconds


@dataclasses.dataclass(frozen=True)
class Flag:
    """One ``deployreq run`` flag and the Settings field it sets."""

    field: dataclasses.Field[Any]
    name: str
    short: str | None
    kind: str
    metavar: str | None
    choices: tuple[str, ...]
    default_help: str | None
    doc: str

    @property
    def dest(self) -> str:
        return self.name.removeprefix("--").replace("-", "_")

    @property
    def computed_default(self) -> bool:
        """The default is computed at start-up (a factory): the flag's absence, or an empty value, leaves it to it."""
        return self.field.default_factory is not dataclasses.MISSING


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass, whitespace folded (attribute docstrings are not kept at run
    time, so they are read from the source)."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls) or cls))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    docs: dict[str, str] = {}
    for stmt, following in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[stmt.target.id] = " ".join(following.value.value.split())
    return docs


def run_flags() -> Iterator[Flag]:
    docs = field_docs(Settings)
    for f in dataclasses.fields(Settings):
        if "flag" not in f.metadata:
            continue
        meta = f.metadata
        yield Flag(
            f,
            meta["flag"],
            meta["short"],
            meta["kind"],
            meta["metavar"],
            meta["choices"],
            meta["default_help"],
            docs[f.name],
        )


def _help(flag: Flag) -> str:
    text = flag.doc.replace("``", "").replace("%", "%%")
    if flag.kind == "switch":
        return text
    if flag.default_help is not None:
        shown = flag.default_help
    elif flag.kind == "duration":
        shown = format_seconds(flag.field.default)  # type: ignore[arg-type]
    else:
        shown = str(flag.field.default)
    return f"{text} (default {shown})"


def _argparse_options(flag: Flag) -> dict[str, Any]:
    match flag.kind:
        case "switch":
            return {"action": "store_true"}
        case "append":
            return {"action": "append", "default": [], "metavar": flag.metavar}
        case "duration":
            return {
                "type": duration_arg,
                "default": flag.field.default,
                "metavar": flag.metavar or "DURATION",
            }
        case "int":
            return {"type": int, "default": flag.field.default, "metavar": flag.metavar}
    options: dict[str, Any] = {"default": None if flag.computed_default else flag.field.default}
    if flag.choices:
        options["choices"] = flag.choices
    else:
        options["metavar"] = flag.metavar
    return options


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every Settings field that has one."""
    for flag in run_flags():
        names = [flag.short, flag.name] if flag.short else [flag.name]
        parser.add_argument(*names, dest=flag.dest, help=_help(flag), **_argparse_options(flag))


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of parsed flags; a computed default stays computed unless a value was given."""
    values: dict[str, Any] = {}
    for flag in run_flags():
        value = getattr(args, flag.dest)
        if flag.computed_default and not value:
            continue
        values[flag.field.name] = tuple(value) if flag.kind == "append" else value
    # Serving every namespace is also what no --namespace means.
    values["all_namespaces"] = bool(args.all_namespaces or not args.namespace)
    return Settings(**values)
