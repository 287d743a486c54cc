"""The override grammar: `path op value`, parsed into typed `Override` objects.

Paths are dotted names with list indices (`a.b[0].c`, `a.0`, `a["key"]`); operators are `=`
and `+= -= *= /= |= &=`; values are `None`, booleans, numbers, quoted strings, bare words,
`[lists]`, `{dicts}`, `@file.yaml[:sub.key]`, factory calls `name(x=1)` and, at the top level,
sweeps `1,2,3`. Parsing only builds the tree; meaning (types, factories, files) comes when an
override is applied.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from nrun.config._errors import OverrideSyntaxError
from nrun.config._text import MAX_DEPTH, format_path

__all__ = [
    "OPERATORS",
    "Call",
    "DictNode",
    "FileRef",
    "ListNode",
    "Node",
    "Override",
    "Scalar",
    "Sweep",
    "Word",
    "format_path",
    "parse_override",
    "parse_overrides",
    "parse_value",
    "unparse",
]

OPERATORS = ("=", "+=", "-=", "*=", "/=", "|=", "&=")


@dataclass(frozen=True)
class Scalar:
    """A literal: `None`, a bool, an int, a float or a quoted string; `raw` is the text typed."""

    value: Any
    raw: str
    quoted: bool = False


@dataclass(frozen=True)
class Word:
    """An unquoted word: a string, or the name of a factory where the type asks for an object."""

    text: str


@dataclass(frozen=True)
class ListNode:
    """`[a, b, ...]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class DictNode:
    """`{key: value, ...}`."""

    items: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class FileRef:
    """`@path/to/file.yaml` or `@file.yaml:sub.key`: the file's contents (or a part of them)."""

    path: str
    key: str | None = None


@dataclass(frozen=True)
class Call:
    """`name(arg, key=value)`: a factory called with arguments."""

    name: str
    args: tuple[Node, ...] = ()
    kwargs: tuple[tuple[str, Node], ...] = ()
    raw: str = field(default="", compare=False)
    """The text typed (`run(1)`): what an argument that takes text gets."""


@dataclass(frozen=True)
class Sweep:
    """`a,b,c` at the top level: one run per choice (see `expand_sweeps`)."""

    choices: tuple[Node, ...]


Node = Scalar | Word | ListNode | DictNode | FileRef | Call | Sweep
Key = str | int


@dataclass(frozen=True)
class Override:
    """One parsed override: where (`path`), how (`op`) and what (`value`), and the text typed."""

    path: tuple[Key, ...]
    op: str
    value: Node
    text: str

    @property
    def dotted(self) -> str:
        """The path as the user would write it (`a.b[0]`)."""
        return format_path(self.path)

    def with_value(self, value: Node) -> Override:
        """A copy with another value (one choice of a sweep), its text written anew."""
        return Override(self.path, self.op, value, f"{self.dotted}{self.op}{unparse(value)}")


def unparse(node: Node) -> str:
    """The text of a parsed value, such that parsing it gives the same node."""
    if isinstance(node, Scalar):
        return node.raw
    if isinstance(node, Word):
        return node.text
    if isinstance(node, ListNode):
        return "[" + ", ".join(unparse(i) for i in node.items) + "]"
    if isinstance(node, DictNode):
        return "{" + ", ".join(f"{unparse(k)}: {unparse(v)}" for k, v in node.items) + "}"
    if isinstance(node, FileRef):
        return f"@{node.path}" + (f":{node.key}" if node.key else "")
    if isinstance(node, Call):
        parts = [unparse(a) for a in node.args] + [f"{k}={unparse(v)}" for k, v in node.kwargs]
        return f"{node.name}({', '.join(parts)})"
    return ",".join(unparse(c) for c in node.choices)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_INT = re.compile(r"[+-]?(?:0|[1-9](?:_?[0-9])*)")
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9]+)?"
    r"|[0-9](?:_?[0-9])*\.(?:[eE][+-]?[0-9]+)?"
    r"|[0-9](?:_?[0-9])*[eE][+-]?[0-9]+)"
)
_PATH_LIKE = re.compile(r"[/\\~]")
_KEYWORDS: dict[str, Any] = {
    "None": None,
    "null": None,
    "True": True,
    "true": True,
    "False": False,
    "false": False,
}
_CLOSERS = {"[": "]", "{": "}", "(": ")"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


def _scalar_or_word(text: str) -> Scalar | Word:
    if text in _KEYWORDS:
        return Scalar(_KEYWORDS[text], text)
    if _INT.fullmatch(text):
        digits = len(text.lstrip("+-").replace("_", ""))
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        if limit and digits > limit:
            raise OverrideSyntaxError(
                f"an integer of {digits} digits, more than the {limit} Python reads"
            )
        return Scalar(int(text.replace("_", "")), text)
    if _FLOAT.fullmatch(text):
        return Scalar(float(text.replace("_", "")), text)
    return Word(text)


class _Parser:
    def __init__(self, text: str, override: str | None = None):
        self.text = text
        self.pos = 0
        self.depth = 0
        self.override = override if override is not None else text

    def error(self, message: str, pos: int | None = None) -> OverrideSyntaxError:
        where = self.pos if pos is None else pos
        return OverrideSyntaxError(f"{message} at column {where + 1}", override=self.override)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    # -- paths -------------------------------------------------------------------------------
    def path(self) -> tuple[Key, ...]:
        parts: list[Key] = []
        start = self.pos
        match = _IDENT.match(self.text, self.pos)
        if not match:
            bad = self.peek() or "end of input"
            raise self.error(f"expected an argument name, found '{bad}'", start)
        parts.append(match.group())
        self.pos = match.end()
        while True:
            char = self.peek()
            if char == ".":
                self.pos += 1
                match = _IDENT.match(self.text, self.pos) or re.compile(r"[0-9]+").match(
                    self.text, self.pos
                )
                if not match:
                    raise self.error("expected a name or index after '.'")
                token = match.group()
                parts.append(int(token) if token.isdigit() else token)
                self.pos = match.end()
            elif char == "[":
                self.pos += 1
                self.skip_ws()
                if self.peek() in "\"'":
                    parts.append(self.quoted())
                else:
                    match = re.compile(r"-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*").match(
                        self.text, self.pos
                    )
                    if not match:
                        raise self.error("expected an index or key inside '[...]'")
                    token = match.group()
                    parts.append(int(token) if token.lstrip("-").isdigit() else token)
                    self.pos = match.end()
                self.skip_ws()
                if self.peek() != "]":
                    raise self.error("expected ']' to close the index")
                self.pos += 1
            else:
                return tuple(parts)

    def operator(self) -> str:
        self.skip_ws()
        for op in sorted(OPERATORS, key=len, reverse=True):
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                if self.peek() == "=":
                    raise self.error("unexpected '=' after the operator")
                return op
        found = self.peek()
        if not found:
            raise self.error("expected '=' and a value after the name")
        raise self.error(f"expected '=' or an operator (+= -= *= /= |= &=), found '{found}'")

    # -- values ------------------------------------------------------------------------------
    def top_value(self) -> Node:
        choices = [self.element(top=True)]
        self.skip_ws()
        while self.peek() == ",":
            self.pos += 1
            self.skip_ws()
            if self.at_end():
                raise self.error("expected a value after ','")
            choices.append(self.element(top=True))
            self.skip_ws()
        if not self.at_end():
            raise self.error(f"unexpected '{self.peek()}'")
        return choices[0] if len(choices) == 1 else Sweep(tuple(choices))

    def element(self, top: bool = False, stop: str = "") -> Node:
        self.depth += 1
        try:
            return self._element(top, stop)
        finally:
            self.depth -= 1

    def _element(self, top: bool, stop: str) -> Node:
        if self.depth > MAX_DEPTH:
            raise self.error(f"lists, dicts or calls nested deeper than {MAX_DEPTH} levels")
        self.skip_ws()
        char = self.peek()
        if not char:
            if top:
                return Word("")
            raise self.error("expected a value")
        if char == "[":
            return self.list_node()
        if char == "{":
            return self.dict_node()
        if char in "\"'":
            start = self.pos
            value = self.quoted()
            return Scalar(value, self.text[start : self.pos], quoted=True)
        if char == "@":
            return self.file_ref(top, stop)
        if char in "]})" or (char == "," and not top):
            raise self.error(f"expected a value, found '{char}'")
        return self.word_or_call(top, stop)

    def quoted(self) -> str:
        quote = self.peek()
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error(f"unterminated string (no closing {quote})", start)
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\" and self.pos < len(self.text):
                nxt = self.text[self.pos]
                self.pos += 1
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
            else:
                out.append(char)

    def raw_word(self, top: bool, stop: str) -> str:
        terminators = "[]{}()\"'," + ("" if top else stop)
        start = self.pos
        while not self.at_end() and self.peek() not in terminators:
            self.pos += 1
        return self.text[start : self.pos].strip()

    def word_or_call(self, top: bool, stop: str) -> Node:
        start = self.pos
        text = self.raw_word(top, stop)
        char = self.peek()
        if char == "(":
            if not _DOTTED.fullmatch(text):
                if top and _PATH_LIKE.search(text):  # `/data/run(1)/x`: text, not a call
                    return self.rest_as_word(start)
                raise self.error(f"'{text}' is not a factory name that can be called", start)
            call = self.call(text, start)
            if top and not self.at_end() and self.peek() not in ",(" and not self.peek().isspace():
                return self.rest_as_word(start)  # `run(1)/x`: text that merely holds a call
            return call
        if char and char in "[{\"'":
            raise self.error(f"unexpected '{char}'")
        if not text and not top:
            raise self.error("expected a value")
        return self.scalar_or_word(text, start)

    def scalar_or_word(self, text: str, start: int) -> Scalar | Word:
        try:
            return _scalar_or_word(text)
        except OverrideSyntaxError as exc:
            raise self.error(exc.detail, start) from None

    def rest_as_word(self, start: int) -> Word:
        """The whole rest of a top-level value, from `start`, as one word."""
        self.pos = len(self.text)
        return Word(self.text[start:].strip())

    def call(self, name: str, start: int | None = None) -> Call:
        begin = self.pos - len(name) if start is None else start
        open_at = self.pos
        self.pos += 1
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        self.skip_ws()
        while self.peek() != ")":
            if self.at_end():
                raise self.error("unclosed '('", open_at)
            match = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)").match(self.text, self.pos)
            if match:
                self.pos = match.end()
                if match.group(1) in dict(kwargs):
                    raise self.error(f"argument '{match.group(1)}' is given twice")
                kwargs.append((match.group(1), self.element(stop="=")))
            else:
                if kwargs:
                    raise self.error("a positional argument cannot follow a keyword argument")
                args.append(self.element(stop="="))
            self.separator(")", open_at)
        self.pos += 1
        return Call(name, tuple(args), tuple(kwargs), raw=self.text[begin : self.pos])

    def separator(self, closer: str, open_at: int) -> None:
        self.skip_ws()
        char = self.peek()
        if char == ",":
            self.pos += 1
            self.skip_ws()
        elif char != closer:
            opener = {"]": "[", "}": "{", ")": "("}[closer]
            if not char:
                raise self.error(f"unclosed '{opener}'", open_at)
            raise self.error(f"expected ',' or '{closer}', found '{char}'")

    def list_node(self) -> ListNode:
        open_at = self.pos
        self.pos += 1
        items: list[Node] = []
        self.skip_ws()
        while self.peek() != "]":
            if self.at_end():
                raise self.error("unclosed '['", open_at)
            items.append(self.element())
            self.separator("]", open_at)
        self.pos += 1
        return ListNode(tuple(items))

    def dict_node(self) -> DictNode:
        open_at = self.pos
        self.pos += 1
        items: list[tuple[Node, Node]] = []
        self.skip_ws()
        while self.peek() != "}":
            if self.at_end():
                raise self.error("unclosed '{'", open_at)
            if self.peek() in "\"'":
                start = self.pos
                key: Node = Scalar(self.quoted(), self.text[start : self.pos], quoted=True)
            else:
                start = self.pos
                text = self.raw_word(top=False, stop=":")
                if not text:
                    raise self.error("expected a key", start)
                key = self.scalar_or_word(text, start)
            self.skip_ws()
            if self.peek() != ":":
                raise self.error("expected ':' after a dict key")
            self.pos += 1
            items.append((key, self.element()))
            self.separator("}", open_at)
        self.pos += 1
        return DictNode(tuple(items))

    def file_ref(self, top: bool, stop: str) -> FileRef:
        start = self.pos
        self.pos += 1
        text = self.raw_word(top, stop)
        if not text:
            raise self.error("expected a file path after '@'", start)
        path, key = text, None
        head, sep, tail = text.rpartition(":")
        if sep and head and re.fullmatch(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*", tail):
            path, key = head, tail
        elif sep and head and not tail:
            raise self.error("expected a key after ':' in a file reference")
        return FileRef(path, key)


def parse_value(text: str) -> Node:
    """Parse a value alone (the part after `=`)."""
    return _Parser(text).top_value()


def parse_override(text: str) -> Override:
    """Parse one override such as `model.size=256`; raise `OverrideSyntaxError` if malformed."""
    if not isinstance(text, str):
        raise OverrideSyntaxError(f"an override is a string, got {type(text).__name__}")
    control = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        column = text.index(control) + 1
        raise OverrideSyntaxError(
            f"control character {control!r} at column {column}; inside quotes write it as an "
            "escape (\\n, \\t)",
            override=text,
        )
    parser = _Parser(text.strip(), override=text)
    if parser.at_end():
        raise OverrideSyntaxError("empty override; expected name=value", override=text)
    path = parser.path()
    op = parser.operator()
    value = parser.top_value()
    if isinstance(value, Sweep) and op != "=":
        raise OverrideSyntaxError(
            f"a sweep (a,b,...) can only be assigned with '=', not '{op}'", override=text
        )
    return Override(path, op, value, text)


def parse_overrides(texts: list[str] | tuple[str, ...]) -> list[Override]:
    """Parse many overrides, in order."""
    return [parse_override(t) for t in texts]
