"""JSON as the service sends it: UTF-8, key order kept, and HTML-safe.

``<``, ``>`` and ``&`` (which in JSON can only occur inside strings) are written as
``\\u003c``, ``\\u003e`` and ``\\u0026``: any JSON parser reads the same text back, but
no byte sequence of an article or a question can be taken for markup by anything that
sniffs the body. Used for every JSON response and every event of every stream.
"""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

__all__ = ["SafeJSONProvider", "to_json"]

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).translate(_ESCAPES)


class SafeJSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(obj, **kwargs).translate(_ESCAPES)
