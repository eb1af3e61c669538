"""Typed stage documents: the JSON files one stage writes and another reads, each one dataclass.

A document class is a frozen dataclass that also inherits `Document`; the package that writes the
file owns the class and its schema version. `write` is atomic; `read` checks every key against the
dataclass (missing, unknown, wrong type, unknown schema version) and fails with one line naming the
file and the key, so a reader never guesses at another stage's output.

    @dataclass(frozen=True)
    class AuditDocument(Document):
        WHAT, REMEDY = "privacy audit", "re-run `synthgen audit`"
        fpr: float
        verdict: Literal["pass", "fail"]

    AuditDocument(0.01, "pass").write(path)      # {"schema_version": 1, "fpr": 0.01, "verdict": "pass"}
    AuditDocument.read(path)                     # the same object, or SynthgenError

A file without its version key (written before the documents were typed) reads as version 1.
Fields with a default may be absent from a file; every other field is required. Files that already
carried `format` and `format_version` (dataset.json, run.json, model/config.json) keep those keys:
`FORMAT` and `VERSION_KEY = "format_version"`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from synthgen.atomic import write_bytes_atomic
from synthgen.errors import SynthgenError

D = TypeVar("D", bound="Document")


class DocumentError(SynthgenError):
    """A document that does not match its definition; the message names the file and the key."""


class Document:
    """Base of the typed documents (subclasses are frozen dataclasses)."""

    WHAT: ClassVar[str] = "document"  # what the file is, for messages ("privacy audit")
    SCHEMA_VERSION: ClassVar[int] = 1
    VERSION_KEY: ClassVar[str] = "schema_version"
    FORMAT: ClassVar[str | None] = None  # when set, the file's `format` key must hold it
    REMEDY: ClassVar[str] = "re-create it"  # what the user should do about a bad file

    def to_dict(self) -> dict:
        head: dict[str, Any] = {"format": self.FORMAT} if self.FORMAT else {}
        head[self.VERSION_KEY] = self.SCHEMA_VERSION
        return {**head, **plain(self)}

    def encode(self) -> bytes:
        """The file's bytes: indented JSON with a final newline (same object, same bytes)."""
        return (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8")

    def write(self, path: Path | str) -> bytes:
        """Write the document atomically to `path`; returns the bytes written."""
        data = self.encode()
        write_bytes_atomic(Path(path), data)
        return data

    @classmethod
    def read(cls: type[D], path: Path | str) -> D:
        path = Path(path)
        if not path.is_file():
            raise DocumentError(f"{path} is missing: no {cls.WHAT} there; {cls.REMEDY}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DocumentError(f"{path} is not a {cls.WHAT}: not valid JSON ({err}); {cls.REMEDY}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls: type[D], data: object, where: str) -> D:
        """Check and build the document from parsed JSON; `where` names the file (or the key holding it)."""
        if not isinstance(data, Mapping):
            raise DocumentError(f"{where} must hold a JSON object (a {cls.WHAT}), not {type(data).__name__}; {cls.REMEDY}")
        body = dict(data)
        if cls.FORMAT is not None:
            found = body.pop("format", None)
            if found != cls.FORMAT:
                raise DocumentError(f"{where}: key 'format' is {found!r}, not {cls.FORMAT!r}: not a {cls.WHAT}; {cls.REMEDY}")
        version = body.pop(cls.VERSION_KEY, 1)
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= cls.SCHEMA_VERSION:
            raise DocumentError(f"{where}: key {cls.VERSION_KEY!r} is {version!r}, a {cls.WHAT} version this "
                                f"synthgen does not know (it reads 1 to {cls.SCHEMA_VERSION}); upgrade synthgen or "
                                f"{cls.REMEDY}")
        return _build(cls, body, "", where, cls.REMEDY)


def plain(value: object) -> Any:
    """Dataclasses as dicts (field order kept), tuples as lists; everything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _build(cls: type, data: Mapping, prefix: str, where: str, remedy: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in data if k not in fields)
    missing = [name for name, spec in fields.items() if name not in data
               and spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING]
    if unknown or missing:  # a renamed key is both: say both
        problems = [f"unknown key {prefix + unknown[0]!r}"] if unknown else []
        problems += [f"key {prefix + missing[0]!r} is missing"] if missing else []
        expected = f" (expected: {', '.join(fields)})" if not missing else ""
        raise DocumentError(f"{where}: {' and '.join(problems)}{expected}; {remedy}")
    hints = typing.get_type_hints(cls)
    values = {name: _value(hints[name], data[name], prefix + name, where, remedy) for name in fields if name in data}
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise DocumentError(f"{where}: {err}; {remedy}") from None


def _value(hint: object, value: object, key: str, where: str, remedy: str):
    """`value` checked against the type `hint` (nested dataclasses built); errors name `key`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)

    def wrong(expected: str) -> DocumentError:
        shown = repr(value) if len(repr(value)) <= 40 else type(value).__name__
        return DocumentError(f"{where}: key {key!r} must be {expected}, not {shown}; {remedy}")

    if hint is Any or hint is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise wrong(" or ".join(_name(a) for a in args))
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _value(options[0], value, key, where, remedy)
        for option in options:  # the first type that fits (e.g. float | str)
            try:
                return _value(option, value, key, where, remedy)
            except DocumentError:
                continue
        raise wrong(" or ".join(_name(a) for a in options))
    if origin is Literal:
        if value not in args:
            raise wrong("one of " + ", ".join(repr(a) for a in args))
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise wrong("an object")
        return _build(hint, value, key + ".", where, remedy)
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, list):
            raise wrong("a list")
        item = args[0] if args else Any
        return [_value(item, v, f"{key}[{i}]", where, remedy) for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise wrong("an object")
        item = args[1] if len(args) == 2 else Any
        return {k: _value(item, v, f"{key}.{k}", where, remedy) for k, v in value.items()}
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if hint in (str, bool):
        if not isinstance(value, hint):
            raise wrong("a string" if hint is str else "true or false")
        return value
    raise TypeError(f"document field {key!r} has a type the reader does not handle: {hint!r}")


def _name(hint: object) -> str:
    return getattr(hint, "__name__", None) or str(hint)
