"""A webhook's request body read within its limits: the size while it arrives, the JSON's
depth before anything recurses over it. Plain functions over the request and the bytes, so
the web server's endpoints (bot/web.py) stay a list of checks in order."""

from __future__ import annotations

import json

from starlette.requests import Request

# How deep a webhook body may nest. The platforms' bodies nest about 10 levels; 1,000 make
# the JSON parser (and anything else recursing over the body: PTB's de_json, the inbox's
# encoding) raise RecursionError, so a deeper body is refused before anything recurses over it.
MAX_JSON_DEPTH = 32


class BodyTooLarge(Exception):
    """The request body is larger than WEB_MAX_BODY_BYTES."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes (by its
    Content-Length, or while reading a body sent without one)."""
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


def parse_json(body: bytes) -> object:
    """The body's JSON; None when it is not JSON or nests deeper than MAX_JSON_DEPTH (the
    parser itself raises RecursionError at about 1,000 levels)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return None if _nests_deeper_than(data, MAX_JSON_DEPTH) else data


def _nests_deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` levels deep; counted level
    by level, not by recursion (which is what such a value breaks)."""
    level = [value]
    for _ in range(limit + 1):
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return False
        level = [child for item in containers
                 for child in (item.values() if isinstance(item, dict) else item)]
    return True
