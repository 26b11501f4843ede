"""The signature scheme (shared with clients/jiaozuo_client.py): HMAC-SHA256 over the request.

    X-Client-Id   the client id
    X-Timestamp   Unix seconds, within ±300 s of server time
    X-Nonce       16–64 characters [A-Za-z0-9_-], never seen within 600 s (Redis SET NX EX)
    X-Signature   lowercase hex HMAC-SHA256(secret, canonical_request(...))

canonical_request = METHOD "\\n" PATH "\\n" SORTED_QUERY "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(SHA-256(body))

PATH is the URL path, percent-decoded (e.g. "/api/v1/catalog/entries/"). SORTED_QUERY is the query's
(name, value) pairs, decoded, sorted by name then value, each percent-encoded per RFC 3986 (unreserved
characters kept, space as %20) and joined as "name=value&…"; empty when there is no query.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote, unquote

from portal.validators import safe_text

WINDOW_SECONDS = 300
NONCE_TTL_SECONDS = 600
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def sorted_query(query_string: str) -> str:
    pairs = parse_qsl(query_string or "", keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def canonical_request(method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join(
        [method.upper(), path, sorted_query(query_string), timestamp, nonce, hashlib.sha256(body or b"").hexdigest()]
    )


def sign(secret: str, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_request(method, path, query_string, timestamp, nonce, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def purpose_of(request) -> str:
    """The caller's X-Purpose in words: percent-encoded UTF-8 (our client) or raw UTF-8 bytes (curl) both work.

    WSGI hands header bytes over decoded as Latin-1; raw UTF-8 is recovered from that. Control characters (`%00`) are
    dropped: the purpose is written to audit rows, where PostgreSQL refuses a NUL.
    """
    raw = request.META.get("HTTP_X_PURPOSE", "")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        raw = raw.encode("latin-1").decode("utf-8")
    return safe_text(unquote(raw), limit=None).strip()[:200]
