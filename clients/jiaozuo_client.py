#!/usr/bin/env python3
"""Example consumer of the 焦作市大数据平台门户 REST API (SPEC §9) — standard library only.

Integrators start from this file. Every call is signed per SPEC §9.1:

    X-Client-Id   your client id (jzc_…), issued by the bureau's security admin
    X-Timestamp   Unix seconds (the server refuses more than 300 s of clock skew: keep NTP on)
    X-Nonce       16–64 random characters, never reused (a reused nonce answers `replayed`)
    X-Signature   lowercase hex HMAC-SHA256(secret, canonical request)
    X-Purpose     on data calls: the business purpose in words (recorded with the call)

    canonical request = METHOD \\n PATH \\n SORTED_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

PATH is the URL path (percent-decoded); SORTED_QUERY is the query's (name, value) pairs sorted by name
then value, each percent-encoded per RFC 3986 (space = %20), joined "name=value&…" ("" when none).

Usage as a library:

    client = JiaozuoClient("https://portal.example", "jzc_…", os.environ["JZ_SECRET"], purpose="业务协同：…")
    for entry in client.catalog_entries(sharing_type="2"):
        print(entry["code"], entry["name"])
    for row in client.pull("303-11410800MA0000000X0001", fields=["企业名称"], since="2026-01-01T00:00:00+08:00"):
        ...

Usage from the shell:

    JZ_SECRET=… python clients/jiaozuo_client.py --base-url https://portal.example --client-id jzc_… catalog
    JZ_SECRET=… python clients/jiaozuo_client.py … pull 303-11410800MA0000000X0001 --purpose "数据校核" > rows.jsonl

Errors raise ApiError with the server's stable `code` (not_authenticated, signature_invalid, replayed,
client_suspended, no_grant, grant_expired, not_found, invalid, throttled) and its Chinese `detail`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

__all__ = ["ApiError", "JiaozuoClient", "canonical_request", "sign", "sorted_query"]

# The three functions below repeat the server's security/signing/scheme.py on purpose: this file stands alone
# (standard library only, copied by integrators), so it cannot import the portal. tests/sharing/test_client_script.py
# checks that both sign alike; change them together.


def sorted_query(query_string: str) -> str:
    """The query as signed: decoded pairs, sorted, RFC 3986-encoded, joined with '&'."""
    pairs = parse_qsl(query_string or "", keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def canonical_request(method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join(
        [method.upper(), path, sorted_query(query_string), timestamp, nonce, hashlib.sha256(body or b"").hexdigest()]
    )


def sign(secret: str, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_request(method, path, query_string, timestamp, nonce, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class ApiError(Exception):
    """A refused call: HTTP status, the stable `code` and the human `detail`."""

    def __init__(self, status: int, code: str, detail: str, body: dict | None = None):
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status, self.code, self.detail, self.body = status, code, detail, body or {}


class JiaozuoClient:
    """A signed-call client of one API client identity (one consuming department's system)."""

    def __init__(self, base_url: str, client_id: str, secret: str, *, purpose: str = "", timeout: float = 60.0):
        self.base_url = base_url.rstrip("/") + "/"
        self.client_id, self.secret, self.purpose, self.timeout = client_id, secret, purpose, timeout

    def signed_headers(self, method: str, path: str, query_string: str, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        return {
            "X-Client-Id": self.client_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, method, path, query_string, timestamp, nonce, body),
        }

    def request(self, method: str, url_or_path: str, *, params: dict | None = None, json_body=None,
                purpose: str | None = None) -> dict:
        """Send one signed call; `url_or_path` may be a full URL (e.g. a `next` link) or a path like /api/v1/…."""
        url = urljoin(self.base_url, url_or_path)
        if params:
            sep = "&" if urlsplit(url).query else "?"
            url += sep + urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote)
        parts = urlsplit(url)
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        headers = self.signed_headers(method, unquote(parts.path), parts.query, body)
        headers["Accept"] = "application/json"
        if json_body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        purpose = self.purpose if purpose is None else purpose
        if purpose:
            headers["X-Purpose"] = quote(purpose, safe="")  # HTTP headers are latin-1: send it percent-encoded
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"only http(s) URLs are called, not {parts.scheme!r}")
        req = urllib.request.Request(url, data=body or None, method=method.upper(), headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 — scheme checked above
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {}
            detail = payload.get("detail", raw[:200].decode(errors="replace"))
            raise ApiError(exc.code, payload.get("code", "error"), detail, payload) from None
        return json.loads(raw) if raw else {}

    def _follow(self, path: str, params: dict | None, purpose: str | None = None) -> Iterator[dict]:
        """Yield every result of a cursor-paginated list, following `next` until it is null."""
        page = self.request("GET", path, params=params, purpose=purpose)
        while True:
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            yield from page.get("results", [])
            if not page.get("next"):
                return
            page = self.request("GET", page["next"], purpose=purpose)

    def catalog_entries(self, **filters) -> Iterator[dict]:
        """The shared catalog the client may see (`search`, `sharing_type`, `provider`, `classification`)."""
        return self._follow("/api/v1/catalog/entries/", filters or None)

    def grants(self, *, state: str | None = None, limit: int | None = None) -> Iterator[dict]:
        """The grants of this client's department (state: active | expired | revoked)."""
        return self._follow("/api/v1/sharing/grants/", {"state": state, "limit": limit})

    def pull(self, resource: str, *, fields: list[str] | None = None, since: str | None = None, limit: int = 1000,
             filters: dict | None = None, purpose: str | None = None) -> Iterator[dict]:
        """Every row of `resource` the client may read (granted items only), following `next` cursors."""
        params = {"limit": limit, "fields": ",".join(fields) if fields else None, "since": since, **(filters or {})}
        # `next` links carry the cursor and the same parameters; purpose travels on every page.
        return self._follow(f"/api/v1/data/{quote(resource, safe='')}/records/", params, purpose)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("JZ_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--client-id", default=os.environ.get("JZ_CLIENT_ID"))
    parser.add_argument("--secret-env", default="JZ_SECRET", help="environment variable holding the secret")
    parser.add_argument("--purpose", default="")
    sub = parser.add_subparsers(dest="command", required=True)
    cat = sub.add_parser("catalog", help="list the shared catalog")
    cat.add_argument("--sharing-type", choices=["1", "2", "3"])
    sub.add_parser("grants", help="list this department's grants")
    pull = sub.add_parser("pull", help="pull rows of a resource as JSON lines")
    pull.add_argument("resource")
    pull.add_argument("--fields")
    pull.add_argument("--since")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env)
    if not args.client_id or not secret:
        parser.error(f"--client-id and the secret in ${args.secret_env} are required")
    client = JiaozuoClient(args.base_url, args.client_id, secret, purpose=args.purpose)
    try:
        if args.command == "catalog":
            rows = client.catalog_entries(sharing_type=args.sharing_type)
        elif args.command == "grants":
            rows = client.grants()
        else:
            rows = client.pull(args.resource, fields=args.fields.split(",") if args.fields else None, since=args.since)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    except ApiError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
