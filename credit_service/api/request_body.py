"""The one place JSON request bodies are parsed (flask-smorest's arguments, `request.get_json` and the
bulk import).

orjson refuses what must never reach a view: invalid UTF-8, lone surrogates (they cannot be stored or
answered), NaN/Infinity, and nesting deeper than 1024 (the standard library's parser raises
RecursionError near 1000 instead: a 500). A string holding U+0000 is valid JSON but no text column
can store it (PostgreSQL refuses it), so it is refused here too, naming the field.
"""
from __future__ import annotations

from typing import Any

import orjson
from flask import Request
from flask_smorest import Blueprint as _SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from credit_service.schemas.messages import NUL_CHARACTER

from ..services.errors import Invalid


def parse_json(raw: bytes | str, refuse_nul: bool = True) -> Any:
    """orjson.loads, refusing strings with U+0000 (422). Malformed input raises orjson.JSONDecodeError,
    a json.JSONDecodeError and ValueError, which Flask and webargs answer with 400. `refuse_nul=False`:
    the caller judges each string itself (a bulk import rejects the row, not the whole body)."""
    value = orjson.loads(raw)
    marker = "\\u0000" if isinstance(raw, str) else b"\\u0000"
    if refuse_nul and marker in raw:  # cheap: only a body that spells the escape can hold the character
        errors = {path or "_schema": [NUL_CHARACTER] for path in _nul_paths(value)}
        if errors:
            raise Invalid("请求内容包含空字符（U+0000），不能保存：" + "、".join(errors) + "。", errors=errors)
    return value


def _nul_paths(value: Any) -> list[str]:
    """The dotted paths (as `errors` names fields) of the keys and strings holding U+0000; iterative."""
    found, stack = [], [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    found.append(name.replace("\x00", "\\u0000"))
                else:
                    stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item))
    return sorted(found)


class _StrictJSON:
    """What `request.get_json()` parses with (Flask's Request.json_module); answers are written, and
    test clients read them, with the app's own JSON provider as before."""

    @staticmethod
    def loads(s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


class StrictRequest(Request):
    @property
    def json_module(self):
        return _StrictJSON

    @json_module.setter
    def json_module(self, provider) -> None:
        """Flask sets the app's JSON provider on each request (flask/ctx.py): parsing stays here."""


class StrictParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return parse_json(req.get_data(cache=True))


class Blueprint(_SmorestBlueprint):
    """flask-smorest's Blueprint, with its arguments parsed by parse_json."""

    ARGUMENTS_PARSER = StrictParser()
