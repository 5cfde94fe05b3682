"""Checks of a request body made before it is parsed: its content type and its JSON nesting.

The API takes JSON only. Powertools would parse a form or multipart body itself (and a multipart
content type without a boundary is a ValueError, a 500): those are 415 before parsing.

Python's `json` module parses recursively: a body of 5,000 `[` raises RecursionError (a 500). The
api handler refuses a body nested deeper than `ApiSettings.max_json_depth` (32; a create request
nests 4 deep) with 400 `invalid_json` without parsing it. The scan is linear: it visits only the
characters that matter (brackets, quotes, backslashes) and knows brackets inside strings are text.
"""

import base64
import binascii
import re

_SPECIAL = re.compile(r'[\[\]{}"\\]')
FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


def form_content_type(event: dict) -> bool:
    """True when the request says its body is a form (urlencoded or multipart)."""
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    return content_type.strip().lower().startswith(FORM_TYPES)


def nesting_exceeds(text: str, limit: int) -> bool:
    """True when the JSON text nests arrays/objects more than `limit` deep (malformed text is scanned
    the same way: the parser refuses it afterwards)."""
    depth, in_string, escaped = 0, False, -1
    for match in _SPECIAL.finditer(text):
        at, char = match.start(), match.group()
        if in_string:
            if at == escaped:  # the character after a backslash
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth = max(0, depth - 1)
    return False


def body_text(event: dict) -> str:
    """The body of an API Gateway event as text (base64 decoded; undecodable bytes replaced: the
    parser refuses such a body later)."""
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
