"""The integrators' client kit (clients/jiaozuo_client.py): the shared signature vectors, paging, retry with back-off,
the resumable download and the push that is never sent twice — against the live server over real HTTP.

Faults are real: a small TCP proxy between client and server cuts connections (mid-download, or after a push reached
the server), a stdlib HTTP server answers 503s like a gateway in front of the portal, and 429 is the portal's own
per-client throttle.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import socket
import threading
import time
import urllib.error
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from sharing.services.clients import api_client_register
from tests.aggregation.builders import ids
from tests.sharing.helpers import PHONE, load, rows_for
from tests.sharing.test_client_script import load_client_module
from tests.support import LOOPBACK, database_quiet

jz = load_client_module()
VECTORS = json.loads((Path(jz.__file__).parent / "test_vectors.json").read_text("utf-8"))["vectors"]


# --------------------------------------------------------------------------------------------- signature vectors


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_client_signs_every_shared_vector(vector):
    client = jz.JiaozuoClient("https://portal.example", vector["client_id"], vector["secret"])
    url = "https://portal.example" + vector["path"] + ("?" + vector["query"] if vector["query"] else "")
    headers = client.sign_url(vector["method"], url, vector["body"].encode(), timestamp=vector["timestamp"],
                              nonce=vector["nonce"])
    assert headers["X-Signature"] == vector["signature"]
    assert headers["X-Client-Id"] == vector["client_id"] and headers["X-Nonce"] == vector["nonce"]
    assert jz.canonical_request(vector["method"], unquote(vector["path"]), vector["query"], vector["timestamp"],
                                vector["nonce"], vector["body"].encode()) == vector["canonical"]


def test_the_client_builds_the_wire_query_the_vectors_sign():
    """`url()` encodes parameters so the server reads what was meant — `+` of a time zone as %2B, Chinese as UTF-8 — and
    so signs the vectors' canonical query (the wire text may differ: `:` is sent encoded)."""
    client = jz.JiaozuoClient("https://portal.example", "jzc_x", "s")
    by_name = {v["name"]: v for v in VECTORS}

    def signed_query(url):
        return jz.sorted_query(urlsplit(url).query)

    since = by_name["since-with-offset"]
    url = client.url(since["path"], {"since": "2026-01-01T00:00:00+08:00", "limit": 1000, "cursor": None})
    assert signed_query(url) == since["canonical"].split("\n")[2]
    chinese = by_name["chinese-value"]
    assert urlsplit(client.url(chinese["path"], {"search": "企业信息", "sharing_type": 1})).query == chinese["query"]
    repeated = client.url("/x/", {"fields": ["b", "a"]})
    assert urlsplit(repeated).query == "fields=b&fields=a"


# --------------------------------------------------------------------------------------------- retry and back-off


class Flaky(http.server.ThreadingHTTPServer):
    """A stand-in for a gateway in front of the portal: answers the planned statuses in turn, then 200."""

    def __init__(self, plan):
        self.plan, self.seen = list(plan), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(handler):
                length = int(handler.headers.get("Content-Length") or 0)
                handler.rfile.read(length)
                self.seen.append(dict(handler.headers))
                status, headers, body = self.plan.pop(0) if self.plan else (200, {}, {"ok": True})
                if status == "drop":  # the connection closes without an answer
                    handler.close_connection = True
                    handler.connection.shutdown(socket.SHUT_RDWR)
                    return
                raw = json.dumps(body).encode()
                handler.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    handler.send_header(name, value)
                handler.send_header("Content-Length", str(len(raw)))
                handler.end_headers()
                handler.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def flaky():
    servers = []

    def _make(*plan):
        servers.append(Flaky(plan))
        return servers[-1]

    yield _make
    for server in servers:
        server.shutdown()
        server.server_close()


def recording_client(url, **kwargs):
    waits = []
    client = jz.JiaozuoClient(url, "jzc_test", "secret", sleep=waits.append, **kwargs)
    return client, waits


UNAVAILABLE = (503, {}, {"code": "unavailable", "detail": "服务暂不可用，请稍后重试"})
GATEWAY_503 = (503, {}, {"code": "error", "detail": "upstream"})


def test_a_get_is_retried_on_5xx_with_growing_jittered_waits_and_a_new_nonce_each_time(flaky):
    server = flaky(GATEWAY_503, (502, {}, {}), (500, {}, {}), (504, {}, {}))
    client, waits = recording_client(server.url, backoff=1.0, retries=4)
    assert client.request("GET", "/api/v1/sharing/grants/") == {"ok": True}
    assert len(server.seen) == 5
    assert [0.5 <= w <= 1 for w in waits[:1]] == [True]  # backoff × 2⁰, between half and all of it
    assert all(2 ** n / 2 <= w <= 2 ** n for n, w in enumerate(waits))
    assert len({h["X-Nonce"] for h in server.seen}) == 5  # every attempt signed anew
    assert len({h["X-Request-Id"] for h in server.seen}) == 1  # one logical call in the audit trail


def test_retry_after_is_honoured_as_seconds_and_as_a_date(flaky):
    server = flaky((429, {"Retry-After": "7"}, {"code": "throttled", "detail": "慢一点"}),
                   (503, {"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}, UNAVAILABLE[2]))
    client, waits = recording_client(server.url, backoff=0.25)
    client.request("GET", "/x/")
    assert 7 <= waits[0] <= 7.25 and 0 <= waits[1] <= 0.25  # a date in the past: at once (plus jitter)


def test_retries_give_up_with_the_last_error(flaky):
    server = flaky(*[GATEWAY_503] * 3)
    client, waits = recording_client(server.url, retries=2)
    with pytest.raises(jz.ApiError) as exc:
        client.request("GET", "/x/")
    assert exc.value.status == 503 and len(server.seen) == 3 and len(waits) == 2


def test_4xx_other_than_429_is_not_retried(flaky):
    server = flaky((403, {}, {"code": "no_grant", "detail": "无授权"}))
    client, waits = recording_client(server.url)
    with pytest.raises(jz.ApiError) as exc:
        client.request("GET", "/x/")
    assert exc.value.code == "no_grant" and len(server.seen) == 1 and waits == []


def test_a_dropped_connection_retries_a_get_but_never_a_push(flaky):
    server = flaky(("drop", {}, {}))
    client, waits = recording_client(server.url)
    assert client.request("GET", "/x/") == {"ok": True} and len(server.seen) == 2

    server = flaky(("drop", {}, {}))
    client, waits = recording_client(server.url)
    with pytest.raises(jz.CONNECTION_ERRORS):
        client.push("303-x", [{"a": 1}])
    assert len(server.seen) == 1 and waits == []  # it may have been applied: the caller decides


def test_a_push_is_retried_only_when_the_server_says_it_did_not_run_it(flaky):
    server = flaky(GATEWAY_503)
    client, _waits = recording_client(server.url)
    with pytest.raises(jz.ApiError):
        client.push("303-x", [{"a": 1}])
    assert len(server.seen) == 1

    server = flaky((429, {"Retry-After": "1"}, {"code": "throttled", "detail": "慢一点"}), UNAVAILABLE)
    client, waits = recording_client(server.url)
    assert client.push("303-x", [{"a": 1}]) == [{"ok": True}]
    assert len(server.seen) == 3 and len(waits) == 2


def test_a_refused_connection_is_retried_even_for_a_push():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, waits = recording_client(f"http://127.0.0.1:{port}", retries=2)
    with pytest.raises(urllib.error.URLError):
        client.push("303-x", [{"a": 1}])
    assert len(waits) == 2  # never sent, so sent again


# --------------------------------------------------------------------------------------------- against the portal


class CuttingProxy:
    """TCP proxy to the live server. `cuts` plans the connections in turn: a number N forwards only the first N bytes of
    the answer (headers included) and then closes both sides; None forwards everything."""

    def __init__(self, upstream: str, cuts=()):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.cuts, self.connections = list(cuts), 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                downstream, _addr = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.cuts.pop(0) if self.cuts else None
            threading.Thread(target=self._serve, args=(downstream, cut), daemon=True).start()

    def _serve(self, downstream, cut):
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pipe, args=(downstream, upstream, None), daemon=True).start()
        self._pipe(upstream, downstream, cut)

    @staticmethod
    def _pipe(source, sink, cut):
        sent = 0
        try:
            while block := source.recv(65536):
                if cut is not None and sent + len(block) >= cut:
                    sink.sendall(block[: cut - sent])
                    break
                sink.sendall(block)
                sent += len(block)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def portal(live_server, security_admin, dept, other_dept, staff, make_entry, make_grant):
    """A 户籍人口信息 entry of `dept` with 230 people, granted to `other_dept` (pull, query, download), and a signed
    client of `other_dept` (rate 600/min)."""
    from tests.sharing.helpers import PEOPLE

    entry = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息")
    keys = ids(230, start=4000)
    load(entry, staff, rows_for(keys))
    make_grant(other_dept, entry, ["性别", "联系电话"], methods=("api", "query", "download"))
    row, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="民政业务系统",
                                      rate_per_minute=600, allowed_networks=LOOPBACK)
    proxies = []

    class Portal:
        def __init__(self):
            self.entry, self.keys, self.row, self.secret = entry, keys, row, secret
            self.resource = entry.resource_key

        def client(self, url=None, **kwargs):
            waits = kwargs.pop("waits", [])
            return jz.JiaozuoClient(url or live_server.url, row.client_id, secret, purpose="低保审核：户籍核验",
                                    sleep=waits.append, **kwargs)

        def proxy(self, *cuts):
            proxies.append(CuttingProxy(live_server.url, cuts))
            return proxies[-1]

    yield Portal()
    for proxy in proxies:
        proxy.close()
    # A download the client gave up on is still being made by a server thread (its read event written at the end):
    # the test's flush must not race it.
    database_quiet()


live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@live
def test_pull_every_page_resume_from_a_saved_page_and_sync_changes(portal, staff):
    client = portal.client()
    pages = list(client.pull_pages(portal.resource, fields=["公民身份号码", "联系电话"], limit=50))
    assert [len(p["results"]) for p in pages] == [50, 50, 50, 50, 30] and pages[-1]["next"] is None
    rows = [r for p in pages for r in p["results"]]
    # The same rows, in the same order, as one page of everything (so none skipped, none twice).
    assert rows == list(client.pull(portal.resource, fields=["公民身份号码", "联系电话"], limit=5000))

    # A run that stopped after page 2 goes on from the `next` it saved.
    rest = list(client.pull_pages(portal.resource, start=pages[1]["next"]))
    assert [r["公民身份号码"] for p in rest for r in p["results"]] == [r["公民身份号码"] for r in rows[100:]]

    # Incremental: everything since the epoch, then only what changed after the watermark.
    changes = client.changes(portal.resource, "2000-01-01T00:00:00+08:00", limit=100)
    synced = list(changes)
    assert len(synced) == 230 and all(r["deleted"] is False for r in synced)
    watermark = changes.next_since()
    assert watermark.endswith("+00:00")
    load(portal.entry, staff, rows_for(portal.keys[:3], sex="女"))
    later = client.changes(portal.resource, watermark)
    received = list(later)  # the overlap brings back rows changed in the minute before the watermark too
    newer = [r for r in received if r["updated_at"] > changes.high_water.isoformat()]
    assert len(newer) == 3 and later.high_water > changes.high_water


@live
def test_online_query_pager(portal):
    client = portal.client()
    found = dict(client.query_many(portal.resource, [portal.keys[0], portal.keys[1], ids(1, start=9000)[0]],
                                   fields=["联系电话"]))
    assert [found[k]["联系电话"] if found[k] else None for k in found] == [PHONE, PHONE, None]
    with pytest.raises(jz.ApiError) as exc:
        client.query(portal.resource, portal.keys[0], fields=["户籍地址"])
    assert exc.value.status == 403 and exc.value.code == "no_grant"


@live
def test_the_real_throttle_is_waited_out(portal):
    """429 from the portal's per-client throttle: the client waits the Retry-After it was given, then succeeds."""
    portal.row.rate_per_minute = 2
    portal.row.save()
    given = []

    class Recording(jz.JiaozuoClient):
        def delay(self, attempt, retry_after=None):
            given.append(retry_after)
            portal.row.rate_per_minute = 600  # meanwhile the security admin raised the rate (saved: seen at once)
            portal.row.save()
            return super().delay(attempt, retry_after)

    waits = []
    client = Recording(portal.client().base_url, portal.row.client_id, portal.secret, purpose="核验",
                       sleep=waits.append)
    results = [client.query(portal.resource, k, fields=["联系电话"]) for k in portal.keys[:3]]
    assert all(r["联系电话"] == PHONE for r in results)
    assert len(given) == 1 and given[0] is not None
    assert given[0] <= waits[0] <= given[0] + client.backoff


def download_events(audit_log, count):
    """The download read events, once `count` are written: the server writes one when its stream ends, which may be
    just after the client has read the last byte."""
    for _ in range(200):
        events = [e for e in audit_log("sharing.data.read") if e.data.get("method") == "download"]
        if len(events) >= count:
            return events
        time.sleep(0.05)
    return events


def export_rows(path):
    lines = Path(path).read_bytes().decode("utf-8").splitlines()
    return lines[0], lines[1], lines[2:]


@live
def test_a_cut_download_resumes_to_the_file_the_server_made(portal, tmp_path, audit_log):
    proxy = portal.proxy(6000)  # the first answer is cut 6 000 bytes in (its headers and part of the file)
    waits = []
    client = portal.client(proxy.url, waits=waits)
    dest = str(tmp_path / "people.csv")
    result = client.download(portal.resource, dest, fields=["公民身份号码", "性别", "联系电话"], block_size=1024)
    assert result.resumed and result.attempts == 2 and len(waits) == 1 and proxy.connections == 2
    assert result.verified
    body = Path(dest).read_bytes()
    assert result.size == len(body) > 6000 and result.sha256 == hashlib.sha256(body).hexdigest()
    trace, header, rows = export_rows(dest)
    assert result.trace_id in trace and header == "公民身份号码,性别,联系电话,核校中" and len(rows) == 230
    assert not Path(dest + ".part").exists() and not Path(dest + ".part.json").exists()
    events = download_events(audit_log, 2)
    assert [e.data["trace"] for e in events] == [result.trace_id] * 2  # one event per request, one download
    resumed_range = events[1].data["range"]
    assert events[1].data["completed"] is True and resumed_range.endswith(f"-{result.size - 1}/{result.size}")
    assert not resumed_range.startswith("0-")


@live
def test_a_stopped_download_resumes_in_a_later_run(portal, tmp_path):
    proxy = portal.proxy(5000, None)
    dest = str(tmp_path / "people.csv")
    first = portal.client(proxy.url, retries=0)
    with pytest.raises(jz.CONNECTION_ERRORS):
        first.download(portal.resource, dest, block_size=1024)
    held = Path(dest + ".part").stat().st_size
    assert 0 < held < 5000 and json.loads(Path(dest + ".part.json").read_text())["etag"]

    result = portal.client(proxy.url).download(portal.resource, dest, block_size=1024)  # a new process, same file
    assert result.resumed and result.attempts == 1
    assert hashlib.sha256(Path(dest).read_bytes()).hexdigest() == result.sha256
    assert len(export_rows(dest)[2]) == 230


@live
def test_a_complete_part_left_by_a_stopped_run_is_only_checked_and_renamed(portal, tmp_path):
    proxy = portal.proxy()
    dest = tmp_path / "people.csv"
    client = portal.client(proxy.url)
    url = client.url(f"/api/v1/data/{portal.resource}/export/", {"format": "csv"})
    done = client.download(portal.resource, str(dest))
    dest.rename(str(dest) + ".part")  # as if the run stopped between the last byte and the rename
    Path(str(dest) + ".part.json").write_text(json.dumps(
        {"url": url, "etag": '"x"', "length": done.size, "sha256": done.sha256, "trace": done.trace_id}))
    again = client.download(portal.resource, str(dest))
    assert proxy.connections == 1 and again.sha256 == done.sha256 and dest.exists()


@live
def test_a_download_whose_slice_changed_meanwhile_starts_over(portal, tmp_path, staff):
    proxy = portal.proxy(5000, None)
    dest = str(tmp_path / "people.csv")
    with pytest.raises(jz.CONNECTION_ERRORS):
        portal.client(proxy.url, retries=0).download(portal.resource, dest)
    held_trace = json.loads(Path(dest + ".part.json").read_text())["trace"]
    load(portal.entry, staff, rows_for(ids(1, start=9500)))  # one more person since
    result = portal.client(proxy.url).download(portal.resource, dest)
    assert not result.resumed and result.trace_id != held_trace
    assert len(export_rows(dest)[2]) == 231 and hashlib.sha256(Path(dest).read_bytes()).hexdigest() == result.sha256


@live
def test_a_push_whose_answer_was_lost_is_not_sent_again(portal, staff, audit_log):
    from portal.services.tokens import token_create

    _token, raw = token_create(actor=staff, name="推送脚本")
    proxy = portal.proxy(0)  # the push reaches the portal; its answer never comes back
    waits = []
    client = jz.JiaozuoClient.with_token(proxy.url, raw, sleep=waits.append)
    new = rows_for(ids(2, start=9700))
    with pytest.raises(jz.CONNECTION_ERRORS):
        client.push(portal.resource, new)
    assert proxy.connections == 1 and waits == []
    [event] = audit_log("aggregation.records.pushed")  # applied once, and only once
    assert event.data["inserted"] == 2

    # Sent again by the caller who checked: nothing new, both unchanged.
    [answer] = jz.JiaozuoClient.with_token(proxy.url, raw).push(portal.resource, new)
    assert (answer["received"], answer["inserted"], answer["unchanged"]) == (2, 0, 2)


@live
def test_the_command_line_queries_and_downloads(portal, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZ_SECRET", portal.secret)
    base = ["--base-url", portal.client().base_url, "--client-id", portal.row.client_id, "--purpose", "数据校核"]
    assert jz.main([*base, "query", portal.resource, portal.keys[0], "--fields", "联系电话"]) == 0
    assert json.loads(capsys.readouterr().out)["联系电话"] == PHONE
    assert jz.main([*base, "query", portal.resource, ids(1, start=9900)[0]]) == 3
    dest = tmp_path / "people.csv"
    assert jz.main([*base, "download", portal.resource, str(dest), "--bom"]) == 0
    assert dest.read_bytes().startswith("\ufeff# ".encode()) and str(dest) in capsys.readouterr().out


def test_the_guide_works_through_a_shared_vector():
    guide = (Path(jz.__file__).parents[1] / "docs" / "integrator-guide.md").read_text("utf-8")
    vector = {v["name"]: v for v in VECTORS}["chinese-value"]
    assert "```\n   " + vector["canonical"].replace("\n", "\n   ") + "\n   ```" in guide  # the six lines, as signed
    assert guide.count(vector["signature"]) == 3 and vector["secret"] in guide and vector["nonce"] in guide


@live
def test_the_portals_own_503_is_retried_for_a_query_and_for_a_push(portal, monkeypatch):
    """503 `unavailable`: the replay guard (Redis) is down, so the portal runs nothing — a push is sent again too."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from security.signing import store

    with socket.socket() as probe:  # a port where nothing listens: a real connection failure
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    working = store.redis_client_and_script

    def down():
        monkeypatch.setattr(store, "redis_client_and_script", lambda: (dead, dead.register_script(store._SPEND)))

    def back(_seconds):
        monkeypatch.setattr(store, "redis_client_and_script", working)

    client = jz.JiaozuoClient(portal.client().base_url, portal.row.client_id, portal.secret, purpose="核验",
                              sleep=back)
    down()
    assert client.query(portal.resource, portal.keys[0], fields=["联系电话"])["联系电话"] == PHONE
    down()
    with pytest.raises(jz.ApiError) as exc:  # sent again once the guard is back: then refused for what it is
        client.push(portal.resource, rows_for(ids(1, start=9800)))
    assert exc.value.code == "permission_denied"  # an API client reads; the provider's data staff push
