#!/usr/bin/env python3
"""Example consumer of the 焦作市大数据平台门户 REST API (SPEC §9) — standard library only.

Integrators start from this file (the guide: docs/integrator-guide.md). Every call is signed per SPEC §9.1:

    X-Client-Id   your client id (jzc_…), issued by the bureau's security admin
    X-Timestamp   Unix seconds (the server refuses more than 300 s of clock skew: keep NTP on)
    X-Nonce       16–64 random characters, never reused (a reused nonce answers `replayed`)
    X-Signature   lowercase hex HMAC-SHA256(secret, canonical request)
    X-Purpose     on data calls: the business purpose in words (recorded with the call)

    canonical request = METHOD \\n PATH \\n SORTED_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

PATH is the URL path (percent-decoded); SORTED_QUERY is the query's (name, value) pairs, decoded, sorted by name
then value (by code point), each percent-encoded per RFC 3986 (space = %20), joined "name=value&…" ("" when none).
clients/test_vectors.json holds worked examples; the server's tests and this file's tests both check them.

Usage as a library:

    client = JiaozuoClient("https://portal.example", "jzc_…", os.environ["JZ_SECRET"], purpose="业务协同：…")
    for row in client.pull("303-11410800MA0000000X0001", fields=["企业名称"]):   # every page, retried, signed
        ...
    changes = client.changes("303-…", since=saved)        # incremental: rows changed after `saved`
    for row in changes: ...
    saved = changes.next_since()                          # keep it for the next run
    client.query("303-…", "91410800MA0000000X")           # online query: one row, or None
    client.download("303-…", "firms.csv")                 # resumable bulk download, checked by SHA-256

Retries: a GET (idempotent) is retried on 429 (after Retry-After), 500/502/503/504 and connection errors, with
exponential back-off and jitter; every attempt is signed anew (a new nonce — a nonce is never sent twice). A POST
(push) is retried only when the server says it did not run it: 429 `throttled` and 503 `unavailable` are answered
before the call reaches the data, and a refused connection never sent it. The API has no idempotency key, so a push
that timed out or lost its connection is NOT sent again (it may have been applied): the error goes to the caller.
Each logical call carries one X-Request-Id on all its attempts, so the platform's audit trail ties them together.

Errors raise ApiError with the server's stable `code` (not_authenticated, signature_invalid, replayed,
client_suspended, ip_not_allowed, no_grant, grant_expired, not_found, invalid, throttled, unavailable,
range_not_satisfiable) and its Chinese `detail`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

__all__ = ["ApiError", "Changes", "DownloadError", "DownloadResult", "JiaozuoClient", "canonical_request", "sign",
           "sorted_query"]

# The three functions below repeat the server's security/signing/scheme.py on purpose: this file stands alone
# (standard library only, copied by integrators), so it cannot import the portal. clients/test_vectors.json is checked
# against both (tests/security/signing/test_vectors.py, tests/sharing/test_client_kit.py); change them together.


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
    """A refused call: HTTP status, the stable `code` and the human `detail` (and Retry-After, when sent)."""

    def __init__(self, status: int, code: str, detail: str, body: dict | None = None, *,
                 retry_after: float | None = None):
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status, self.code, self.detail, self.body = status, code, detail, body or {}
        self.retry_after = retry_after


class DownloadError(Exception):
    """A bulk download that cannot be completed as asked (e.g. the finished file does not match its digest)."""


# Statuses worth another attempt of an idempotent call; 501/505 and every 4xx but 429 would answer the same again.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Codes the server answers before a call reaches any data: retried even for a push.
NOT_RUN_CODES = frozenset({"throttled", "unavailable"})
# Errors while sending or reading: the connection broke (reset, closed early, timed out, cut mid-body).
CONNECTION_ERRORS = (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _never_sent(exc: BaseException) -> bool:
    """The connection was refused: the request never left (safe to send again, whatever it is)."""
    return isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, ConnectionRefusedError)


class Changes:
    """The rows of a resource changed after `since` (deleted ones as {"deleted": true, …}), every page followed.

    Iterate it once; then `next_since()` is the `since` of the next run: the largest `updated_at` received minus an
    overlap (a transaction that commits late carries its start time), or the same `since` when nothing came. Rows
    are keyed by the subject key, so a row received twice is simply upserted again.
    """

    OVERLAP = dt.timedelta(minutes=1)

    def __init__(self, rows: Iterator[dict], since: str):
        self._rows, self.since, self.high_water = rows, since, None

    def __iter__(self) -> Iterator[dict]:
        for row in self._rows:
            stamp = row.get("updated_at")
            if stamp:
                moment = dt.datetime.fromisoformat(stamp)
                if self.high_water is None or moment > self.high_water:
                    self.high_water = moment
            yield row

    def next_since(self) -> str:
        if self.high_water is None:
            return self.since
        return (self.high_water - self.OVERLAP).isoformat()


class DownloadResult:
    """A finished download. `verified`: its length and SHA-256 were the server's (always, from a server that supports
    Range; a server or proxy that answers a plain 200 without them leaves a file nobody can tell from a cut one)."""

    def __init__(self, path: str, size: int, sha256: str, trace_id: str, resumed: bool, attempts: int,
                 verified: bool = True):
        self.path, self.size, self.sha256, self.trace_id = path, size, sha256, trace_id
        self.resumed, self.attempts, self.verified = resumed, attempts, verified

    def __repr__(self) -> str:
        return f"DownloadResult({self.path!r}, {self.size} bytes, trace {self.trace_id}, resumed={self.resumed})"


class JiaozuoClient:
    """A signed-call client of one API client identity (one consuming department's system).

    `retries` is the number of further attempts after the first; the n-th wait is `backoff × 2ⁿ` halved and
    jittered (between half and all of it), at most `max_delay`, or the server's Retry-After plus up to `backoff` of
    jitter (so a fleet of clients does not come back in the same instant). `sleep` is time.sleep (tests pass their own).
    """

    def __init__(self, base_url: str, client_id: str | None, secret: str | None, *, purpose: str = "",
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.5, max_delay: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 token: str | None = None):
        if not token and not (client_id and secret):
            raise ValueError("a client id and its secret (signed calls), or a personal token, are required")
        self.base_url = base_url.rstrip("/") + "/"
        self.client_id, self.secret, self.purpose, self.timeout = client_id, secret, purpose, timeout
        self.token = token
        self.retries, self.backoff, self.max_delay = retries, backoff, max_delay
        self.sleep = sleep
        self.rng = rng or random.SystemRandom()

    @classmethod
    def with_token(cls, base_url: str, token: str, **kwargs) -> JiaozuoClient:
        """A client of a person's personal token (`jzp_…`, 个人令牌) instead of a signed identity: the provider's data
        staff push with one (an API client has no roles, so its push is refused)."""
        return cls(base_url, None, None, token=token, **kwargs)

    # ------------------------------------------------------------------------------------------------ signing

    def signed_headers(self, method: str, path: str, query_string: str, body: bytes, *,
                       timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(16)
        return {
            "X-Client-Id": self.client_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, method, path, query_string, timestamp, nonce, body),
        }

    def sign_url(self, method: str, url: str, body: bytes = b"", *, timestamp: str | None = None,
                 nonce: str | None = None) -> dict[str, str]:
        """The signature headers of a call of `url` exactly as it goes on the wire (path decoded, query as sent)."""
        parts = urlsplit(url)
        return self.signed_headers(method, unquote(parts.path), parts.query, body, timestamp=timestamp, nonce=nonce)

    def url(self, url_or_path: str, params: dict | None = None) -> str:
        """`url_or_path` (a full URL such as a `next` link, or a path like /api/v1/…) with `params` added (None
        values left out; a list value repeats the name)."""
        url = urljoin(self.base_url, url_or_path)
        pairs = [(k, item) for k, v in (params or {}).items() if v is not None
                 for item in (v if isinstance(v, (list, tuple)) else [v])]
        if pairs:
            url += ("&" if urlsplit(url).query else "?") + urlencode(pairs, quote_via=quote)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"only http(s) URLs are called, not {url!r}")
        return url

    # ------------------------------------------------------------------------------------------------ calls

    def send(self, method: str, url: str, *, body: bytes = b"", purpose: str | None = None,
             headers: dict | None = None, request_id: str | None = None) -> http.client.HTTPResponse:
        """ONE signed attempt; the open response (2xx) for the caller to read and close, or ApiError."""
        method = method.upper()
        sent = {"Authorization": f"Token {self.token}"} if self.token else self.sign_url(method, url, body)
        sent["Accept"] = "application/json"
        if body:
            sent["Content-Type"] = "application/json; charset=utf-8"
        purpose = self.purpose if purpose is None else purpose
        if purpose:
            sent["X-Purpose"] = quote(purpose, safe="")  # HTTP headers are latin-1: send it percent-encoded
        if request_id:
            sent["X-Request-Id"] = request_id
        sent.update(headers or {})
        req = urllib.request.Request(url, data=body or None, method=method, headers=sent)  # noqa: S310 — url()
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)  # noqa: S310 — http(s) only, checked in url()
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read()
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {}
            if not isinstance(payload, dict):
                payload = {}
            detail = payload.get("detail", raw[:200].decode(errors="replace"))
            raise ApiError(exc.code, payload.get("code", "error"), detail, payload,
                           retry_after=_retry_after(exc.headers.get("Retry-After"))) from None

    def retryable(self, exc: BaseException, *, idempotent: bool) -> bool:
        if isinstance(exc, ApiError):
            if exc.status not in RETRY_STATUSES:
                return False
            return idempotent or exc.code in NOT_RUN_CODES
        if isinstance(exc, CONNECTION_ERRORS):
            return idempotent or _never_sent(exc)
        return False

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (0-based `attempt` just failed)."""
        if retry_after is not None:
            return retry_after + self.rng.uniform(0, self.backoff)
        ceiling = min(self.max_delay, self.backoff * 2 ** attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def call(self, method: str, url: str, read: Callable[[http.client.HTTPResponse], object], *,
             body: bytes = b"", purpose: str | None = None, headers: dict | None = None):
        """send() and read() the response, retried as the module doc says; returns what `read` returns."""
        idempotent = method.upper() in ("GET", "HEAD")
        request_id = "jzc-" + secrets.token_hex(12)
        attempt = 0
        while True:
            try:
                with self.send(method, url, body=body, purpose=purpose, headers=headers,
                               request_id=request_id) as resp:
                    return read(resp)
            except (ApiError, *CONNECTION_ERRORS) as exc:
                if attempt >= self.retries or not self.retryable(exc, idempotent=idempotent):
                    raise
                self.sleep(self.delay(attempt, getattr(exc, "retry_after", None)))
                attempt += 1

    def request(self, method: str, url_or_path: str, *, params: dict | None = None, json_body=None,
                purpose: str | None = None) -> dict | list:
        """One signed JSON call (retried as the module doc says); `url_or_path` may be a full URL (a `next` link)."""
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()

        def read(resp):
            raw = resp.read()
            return json.loads(raw) if raw else {}

        return self.call(method, self.url(url_or_path, params), read, body=body, purpose=purpose)

    # ------------------------------------------------------------------------------------------------ paging

    def pages(self, path: str, params: dict | None = None, *, purpose: str | None = None,
              start: str | None = None) -> Iterator[dict]:
        """Every page of a cursor-paginated list, following `next` until it is null. Each page's `next` is the
        place to resume from later: pass it as `start` (the parameters are in it)."""
        page = self.request("GET", start or path, params=None if start else params, purpose=purpose)
        while True:
            if isinstance(page, list):  # an unpaginated list
                yield {"results": page, "next": None}
                return
            yield page
            if not page.get("next"):
                return
            page = self.request("GET", page["next"], purpose=purpose)

    def _follow(self, path: str, params: dict | None, purpose: str | None = None) -> Iterator[dict]:
        for page in self.pages(path, params, purpose=purpose):
            yield from page.get("results", [])

    def catalog_entries(self, **filters) -> Iterator[dict]:
        """The shared catalog the client may see (`search`, `sharing_type`, `provider`, `classification`)."""
        return self._follow("/api/v1/catalog/entries/", filters or None)

    def grants(self, *, state: str | None = None, limit: int | None = None) -> Iterator[dict]:
        """The grants of this client's department (state: active | expired | revoked)."""
        return self._follow("/api/v1/sharing/grants/", {"state": state, "limit": limit})

    @staticmethod
    def _data_path(resource: str, tail: str) -> str:
        return f"/api/v1/data/{quote(resource, safe='')}/{tail}"

    @staticmethod
    def _data_params(fields, since, filters, **more) -> dict:
        return {**more, "fields": ",".join(fields) if fields else None, "since": since, **(filters or {})}

    def pull_pages(self, resource: str, *, fields: list[str] | None = None, since: str | None = None,
                   limit: int = 1000, filters: dict | None = None, purpose: str | None = None,
                   start: str | None = None) -> Iterator[dict]:
        """The pull's pages ({"results", "next"}); save a page's `next` to resume there (`start=`) after a restart."""
        params = self._data_params(fields, since, filters, limit=limit)
        return self.pages(self._data_path(resource, "records/"), params, purpose=purpose, start=start)

    def pull(self, resource: str, *, fields: list[str] | None = None, since: str | None = None, limit: int = 1000,
             filters: dict | None = None, purpose: str | None = None) -> Iterator[dict]:
        """Every row of `resource` the client may read (granted items only), following `next` cursors."""
        for page in self.pull_pages(resource, fields=fields, since=since, limit=limit, filters=filters,
                                    purpose=purpose):
            yield from page["results"]

    def changes(self, resource: str, since: str, **kwargs) -> Changes:
        """Rows changed after `since` (ISO 8601 with offset, e.g. 2026-12-01T00:00:00+08:00), deleted ones
        included; iterate it, then keep `next_since()` for the next run."""
        return Changes(self.pull(resource, since=since, **kwargs), since)

    def query(self, resource: str, key: str, *, fields: list[str] | None = None,
              purpose: str | None = None) -> dict | None:
        """Online query of one subject (ID number / credit code): its row, or None when the resource has none."""
        try:
            return self.request("GET", self._data_path(resource, f"records/{quote(key, safe='')}/"),
                                params=self._data_params(fields, None, None), purpose=purpose)
        except ApiError as exc:
            if exc.status == 404 and exc.code == "not_found":
                return None
            raise

    def query_many(self, resource: str, keys: Iterable[str], **kwargs) -> Iterator[tuple[str, dict | None]]:
        """(key, row or None) for each key, one online query each (throttled calls wait and go on)."""
        for key in keys:
            yield key, self.query(resource, key, **kwargs)

    # ------------------------------------------------------------------------------------------------ push

    def push(self, resource: str, rows: list[dict], *, all_or_nothing: bool = False, batch_size: int = 5000,
             purpose: str | None = None) -> list[dict]:
        """Provider push (upsert by subject key) in batches of at most 5 000 rows; one answer per batch
        ({received, accepted, rejected, inserted, updated, unchanged, errors}). Not retried unless the server
        refused it unrun (module doc): on a broken connection, check the rows (pull with `since`) before sending
        them again."""
        path = self._data_path(resource, "records/")
        params = {"mode": "all_or_nothing"} if all_or_nothing else None
        return [self.request("POST", path, params=params, json_body=rows[i:i + batch_size], purpose=purpose)
                for i in range(0, len(rows), batch_size)]

    # ------------------------------------------------------------------------------------------------ download

    def download(self, resource: str, dest: str, *, fmt: str = "csv", fields: list[str] | None = None,
                 since: str | None = None, filters: dict | None = None, bom: bool = False,
                 purpose: str | None = None, block_size: int = 1 << 16) -> DownloadResult:
        """Bulk download into `dest`, resumable: bytes go to `dest.part` (with `dest.part.json`: the download's ETag,
        length and SHA-256), and on a broken connection — or in a later run after the process was stopped — the rest
        is asked with Range + If-Range. The server makes the file again under the same trace; if the slice changed
        meanwhile it sends a whole new file (200), and the download starts over. `dest` appears (renamed from
        .part) only when length and SHA-256 match the server's Repr-Digest."""
        url = self.url(self._data_path(resource, "export/"),
                       self._data_params(fields, since, filters, format=fmt, bom="1" if bom else None))
        part, state_path = dest + ".part", dest + ".part.json"
        state = _read_state(state_path, url) if os.path.exists(part) else None
        if state is None:
            _remove(part, state_path)
        attempt, resumed = 0, False
        if state is not None and state.get("length") == os.path.getsize(part) and state.get("sha256"):
            size, digest = _file_digest(part)  # complete, but the last run stopped before the rename
            if digest == state["sha256"]:
                os.replace(part, dest)
                _remove(state_path)
                return DownloadResult(dest, size, digest, state["trace"], True, 0)
        while True:
            # Without the server's ETag nothing can be resumed (a plain 200 from a server or proxy without Range).
            offset = os.path.getsize(part) if state is not None and state.get("etag") else 0
            headers = {"Range": f"bytes={offset}-"}
            if offset:
                headers["If-Range"] = state["etag"]
            try:
                with self.send("GET", url, purpose=purpose, headers=headers) as resp:
                    state, offset = self._download_state(resp, url, offset)
                    if offset:
                        resumed = True
                    _write_state(state_path, state)
                    with open(part, "ab" if offset else "wb") as out:
                        while block := resp.read(block_size):
                            out.write(block)
                size, digest = _file_digest(part)
                if state["length"] is not None and size != state["length"]:
                    raise http.client.IncompleteRead(b"", state["length"] - size)  # closed early: resume
                if state["sha256"] is not None and digest != state["sha256"]:
                    expected, state = state["sha256"], None
                    _remove(part, state_path)  # not the file the server made: start over
                    raise DownloadError(f"{dest}: SHA-256 {digest} is not the server's {expected}")
                os.replace(part, dest)
                _remove(state_path)
                verified = state["length"] is not None and state["sha256"] is not None
                return DownloadResult(dest, size, digest, state["trace"], resumed, attempt + 1, verified)
            except ApiError as exc:
                if exc.status == 416 and offset:  # the .part is longer than the file: start over
                    _remove(part, state_path)
                    state = None
                elif attempt >= self.retries or not self.retryable(exc, idempotent=True):
                    raise
                else:
                    self.sleep(self.delay(attempt, exc.retry_after))
            except (*CONNECTION_ERRORS, DownloadError):
                if attempt >= self.retries:
                    raise
                self.sleep(self.delay(attempt))
            attempt += 1

    @staticmethod
    def _download_state(resp, url: str, offset: int) -> tuple[dict, int]:
        """The download's state from a 206 (continuing at `offset`) or a 200 (a whole file: from 0)."""
        length = None
        if resp.status == 206:
            unit, _sp, spec = (resp.headers.get("Content-Range") or "").partition(" ")
            span, _sl, total = spec.partition("/")
            first = span.partition("-")[0]
            if unit != "bytes" or not first.isdigit() or int(first) != offset:
                raise DownloadError(f"unexpected Content-Range {resp.headers.get('Content-Range')!r} at {offset}")
            length = int(total) if total.isdigit() else None
        else:
            offset = 0
            if (resp.headers.get("Content-Length") or "").isdigit():
                length = int(resp.headers["Content-Length"])
        digest = None
        for item in (resp.headers.get("Repr-Digest") or "").split(","):
            name, _eq, value = item.strip().partition("=")
            if name == "sha-256" and value.startswith(":") and value.endswith(":"):
                digest = base64.b64decode(value[1:-1]).hex()
        return {"url": url, "etag": resp.headers.get("ETag"), "length": length, "sha256": digest,
                "trace": resp.headers.get("X-Trace-Id", "")}, offset


def _read_state(path: str, url: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("url") == url and state.get("etag") else None


def _write_state(path: str, state: dict) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(path + ".tmp", path)


def _remove(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _file_digest(path: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("JZ_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--client-id", default=os.environ.get("JZ_CLIENT_ID"))
    parser.add_argument("--secret-env", default="JZ_SECRET", help="environment variable holding the secret")
    parser.add_argument("--purpose", default="")
    parser.add_argument("--retries", type=int, default=4)
    sub = parser.add_subparsers(dest="command", required=True)
    cat = sub.add_parser("catalog", help="list the shared catalog")
    cat.add_argument("--sharing-type", choices=["1", "2", "3"])
    sub.add_parser("grants", help="list this department's grants")
    pull = sub.add_parser("pull", help="pull rows of a resource as JSON lines")
    pull.add_argument("resource")
    pull.add_argument("--fields")
    pull.add_argument("--since")
    query = sub.add_parser("query", help="online query of one subject (JSON)")
    query.add_argument("resource")
    query.add_argument("key")
    query.add_argument("--fields")
    download = sub.add_parser("download", help="resumable bulk download into a file")
    download.add_argument("resource")
    download.add_argument("dest")
    download.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    download.add_argument("--fields")
    download.add_argument("--since")
    download.add_argument("--bom", action="store_true")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env)
    if not args.client_id or not secret:
        parser.error(f"--client-id and the secret in ${args.secret_env} are required")
    client = JiaozuoClient(args.base_url, args.client_id, secret, purpose=args.purpose, retries=args.retries)
    fields = args.fields.split(",") if getattr(args, "fields", None) else None
    try:
        if args.command == "download":
            result = client.download(args.resource, args.dest, fmt=args.format, fields=fields, since=args.since,
                                     bom=args.bom)
            print(f"{result.path}: {result.size} bytes, sha256 {result.sha256}, trace {result.trace_id}")
            return 0
        if args.command == "query":
            row = client.query(args.resource, args.key, fields=fields)
            print(json.dumps(row, ensure_ascii=False))
            return 0 if row is not None else 3
        if args.command == "catalog":
            rows = client.catalog_entries(sharing_type=args.sharing_type)
        elif args.command == "grants":
            rows = client.grants()
        else:
            rows = client.pull(args.resource, fields=fields, since=args.since)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    except ApiError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
