"""Signed seals, day bundles and the stand-alone verifier (R29.1): a rewrite without the key is found, a bundle
written by the real sealer verifies outside the portal, and each way of tampering with a bundle is found at its
position.

The verifier runs as a subprocess with this interpreter (`sys.executable clients/audit_verify_bundle.py`), on files
written by `manage.py audit_bundle`: if its hash rule or seal statement drifts from portal.audit's, these fail.
"""

import datetime as dt
import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from portal import audit, context, keys
from portal.audit_verify import seal_holds
from portal.models import AuditChainLink, AuditEvent, AuditSeal
from portal.services.audit_chain import audit_chain_verify

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "clients" / "audit_verify_bundle.py"
OTHER_KEY = keys.b64encode(Ed25519PrivateKey.generate().private_bytes_raw())


def tamper(sql: str, params=()):
    """One statement with the trail's triggers off, as a database superuser would."""
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute(sql, params)
        finally:
            cur.execute("SET session_replication_role = DEFAULT")


def full():
    return audit_chain_verify(actor=None, full=True, via="command")


def broken_at(run):
    return (run.ok, run.break_seq, run.break_kind)


@pytest.fixture
def chain(staff):
    """Eight events in three seals (1–4, 5–6, 7–8), with data of every JSON kind the hash must reproduce."""
    values = [{"i": 0, "name": "焦作市 \"引号\" \\ 斜杠", "when": dt.date(2026, 12, 1)}, {"f": 1.5, "big": 10**18},
              {"nested": {"b": [1, None, True], "a": "é"}}, {"tiny": 1e-7, "neg": -0.25}]
    with context.restored(context.RequestContext(ip="10.1.2.3", request_id="req-1")):
        for data in values:
            audit.record(actor=staff, action="portal.test.changed", data=data, object_repr="记录 1")
    audit.seal_pending()
    for i in range(4, 6):
        audit.record(actor=staff, action="portal.test.changed", data={"i": i})
    audit.seal_pending()
    for i in range(6, 8):
        audit.record(actor=None, actor_label="system", action="portal.test.changed", data={"i": i})
    audit.seal_pending()
    seals = AuditSeal.objects.order_by("first_seq").values_list("first_seq", "last_seq")
    assert list(seals) == [(1, 4), (5, 6), (7, 8)]
    return dict(AuditChainLink.objects.values_list("seq", "event_id"))


def _rewrite_from(seq: int, sign_with: str | None):
    """A database superuser's rewrite: change position `seq`'s event, recompute every later link and re-make the
    seals from `seq`'s on — signed with `sign_with` (a key that is not the platform's) or not signed."""
    event_id = AuditChainLink.objects.get(seq=seq).event_id
    tamper("UPDATE portal_auditevent SET data = '{\"i\": 999}'::jsonb WHERE id = %s", [event_id])
    prev = AuditChainLink.objects.get(seq=seq - 1).hash
    links = AuditChainLink.objects.filter(seq__gte=seq).order_by("seq")
    rows = {r["id"]: r for r in AuditEvent.objects.filter(id__in=links.values("event_id")).values(
        *audit._CANONICAL_FIELDS)}
    for link in links:
        digest = audit.chain_hash(prev, rows[link.event_id])
        tamper("UPDATE portal_auditchainlink SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, digest, link.seq])
        prev = digest
    forger = keys.ed25519_from_b64(sign_with) if sign_with else None
    for seal in AuditSeal.objects.filter(last_seq__gte=seq):
        head = AuditChainLink.objects.get(seq=seal.last_seq).hash
        kid, signature = "", ""
        if forger:
            kid = forger.kid
            signature = keys.b64encode(forger.private.sign(audit.seal_statement(
                first_seq=seal.first_seq, last_seq=seal.last_seq, count=seal.count, head_hash=head,
                sealed_at=seal.sealed_at, kid=kid)))
        tamper("UPDATE portal_auditseal SET head_hash = %s, kid = %s, signature = %s WHERE id = %s",
               [head, kid, signature, seal.pk])


# ------------------------------------------------------------------------------------------------ signed seals


def test_every_seal_is_signed_with_the_seal_key(chain):
    kid = audit.seal_key().kid
    rows = AuditSeal.objects.values_list("id", "first_seq", "last_seq", "count", "head_hash", "sealed_at", "kid",
                                         "signature")
    assert all(row[6] == kid and seal_holds(row, audit.seal_public_keys()) for row in rows)
    assert full().ok


@pytest.mark.parametrize("sign_with", [None, OTHER_KEY], ids=["unsigned", "another-key"])
def test_a_rewrite_with_recomputed_links_and_seals_is_found_at_the_rewritten_seal(chain, sign_with):
    """Position 6 rewritten; its seal covers 5–6: the break is at 5, the first position that seal vouches for."""
    _rewrite_from(6, sign_with)
    assert broken_at(full()) == (False, 5, "signature")


def test_without_signatures_the_same_rewrite_would_pass(chain, settings):
    """The control: with every seal allowed unsigned, the rewrite is consistent — only the signature finds it."""
    _rewrite_from(6, None)
    settings.PORTAL = {**settings.PORTAL, "AUDIT_SEAL_UNSIGNED_UPTO": 10**9}
    assert full().ok


def test_unsigned_seals_up_to_the_setting_are_accepted_and_later_ones_are_not(chain, settings):
    tamper("UPDATE portal_auditseal SET signature = '', kid = '' WHERE first_seq IN (1, 7)")
    settings.PORTAL = {**settings.PORTAL, "AUDIT_SEAL_UNSIGNED_UPTO": 4}
    assert broken_at(full()) == (False, 7, "signature")
    settings.PORTAL = {**settings.PORTAL, "AUDIT_SEAL_UNSIGNED_UPTO": 0}
    assert broken_at(full()) == (False, 1, "signature")


def test_a_retired_key_stays_verifiable_by_its_kid(chain, settings, staff):
    old_public = keys.b64encode(audit.seal_key().public_raw)
    settings.AUDIT_SEAL_KEY = OTHER_KEY
    audit.record(actor=staff, action="portal.test.after_rotation")
    audit.seal_pending()
    assert AuditSeal.objects.order_by("-first_seq").first().kid == keys.ed25519_from_b64(OTHER_KEY).kid
    assert broken_at(full()) == (False, 1, "signature")  # the old key not published: its seals cannot be checked
    settings.AUDIT_SEAL_PUBLIC_KEYS = [old_public]
    assert full().ok


def test_the_seal_key_is_required_and_must_be_a_key():
    with pytest.raises(ImproperlyConfigured):
        keys.ed25519_from_b64("not-a-key", "AUDIT_SEAL_KEY")
    env = {k: v for k, v in os.environ.items() if k != "AUDIT_SEAL_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY="x", FIELD_ENCRYPTION_KEYS="k1:x",
               BLIND_INDEX_KEY="x", DOCUMENT_SIGNING_KEY="x", DATABASE_URL="postgres://x@localhost/x",
               REDIS_URL="redis://localhost:6379/0")
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "AUDIT_SEAL_KEY" in done.stderr


def test_the_system_check_refuses_an_unusable_seal_key(settings):
    from portal.apps import seal_key_check

    assert seal_key_check(None) == []
    settings.AUDIT_SEAL_KEY = "change-me"
    assert [e.id for e in seal_key_check(None)] == ["portal.E001"]
    settings.AUDIT_SEAL_KEY, settings.AUDIT_SEAL_PUBLIC_KEYS = OTHER_KEY, ["too-short"]
    assert [e.id for e in seal_key_check(None)] == ["portal.E001"]


def test_the_seal_key_is_published_without_authentication(client):
    body = client.get("/api/v1/audit/seal-key/").json()
    key = audit.seal_key()
    assert body["current"] == key.kid
    assert {"alg": "Ed25519", "kid": key.kid, "public_key": keys.b64encode(key.public_raw)} in body["keys"]
    schema = client.get(reverse("api-schema")).content.decode()
    assert "/api/v1/audit/seal-key/" in schema


# ------------------------------------------------------------------------------------------------ day bundles


def _today() -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()


@pytest.fixture
def bundle(chain, tmp_path):
    path = tmp_path / "day.jsonl.gz"
    call_command("audit_bundle", "--date", _today(), "--out", str(path), stdout=open(os.devnull, "w"))  # noqa: SIM115
    return path


def run_verifier(path: Path, *public_keys: str):
    args = [sys.executable, str(VERIFIER), str(path)]
    for key in public_keys:
        # "=": a URL-safe base64 key may start with "-", which argparse would read as an option (exit 2).
        args.append(f"--public-key={key}")
    done = subprocess.run(args, capture_output=True, text=True, timeout=60,  # noqa: S603 — our own script
                          env={"PATH": os.environ["PATH"]})
    return done.returncode, done.stdout + done.stderr


def published_key(client) -> str:
    body = client.get("/api/v1/audit/seal-key/").json()
    return next(k["public_key"] for k in body["keys"] if k["kid"] == body["current"])


def rewrite(path: Path, change) -> Path:
    lines = [json.loads(x) for x in gzip.decompress(path.read_bytes()).decode().splitlines()]
    lines = change(lines)
    out = path.with_name("tampered.jsonl.gz")
    out.write_bytes(gzip.compress("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()))
    return out


def test_a_bundle_written_by_the_command_verifies_stand_alone(bundle, client):
    code, output = run_verifier(bundle, published_key(client))
    assert code == 0, output
    assert output.startswith(f"OK {_today()}: 8 events, 3 seals, positions 1–8")
    event = AuditEvent.objects.get(action="portal.audit.bundle_exported")
    import hashlib

    assert event.data["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert (event.data["first_seq"], event.data["last_seq"], event.data["events"]) == (1, 8, 8)


def test_the_verifiers_canonical_form_is_the_sealers(bundle):
    """Each event in the bundle, put through the verifier's canonical(), is byte for byte what the sealer hashed."""
    spec = importlib.util.spec_from_file_location("audit_verify_bundle", VERIFIER)
    verifier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verifier)
    links = [json.loads(x) for x in gzip.decompress(bundle.read_bytes()).decode().splitlines()[4:]]
    rows = {r["id"]: r for r in AuditEvent.objects.values(*audit._CANONICAL_FIELDS)}
    assert len(links) == 8
    for link in links:
        assert verifier.canonical(link["event"]) == audit.canonical_json(rows[link["event"]["id"]])


def _links(lines):
    return [x for x in lines if x.get("type") == "link"]


def _change_event(lines):
    _links(lines)[2]["event"]["object_repr"] = "记录 2"
    return lines


def _swap(lines):
    i = lines.index(_links(lines)[4])
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return lines


def _forge_signature(lines):
    seal = [x for x in lines if x.get("type") == "seal"][1]
    seal["signature"] = seal["signature"][:10] + ("A" if seal["signature"][10] != "A" else "B") + seal["signature"][11:]
    return lines


@pytest.mark.parametrize(("change", "seq", "kind"), [
    (_change_event, 3, "hash"),
    (lambda lines: [x for x in lines if x.get("seq") != 4], 4, "gap"),
    (lambda lines: [x for x in lines if not (x.get("type") == "link" and x["seq"] >= 7)], 7, "tail"),
    (_swap, 5, "order"),
    (_forge_signature, 5, "signature"),
], ids=["byte-change", "deleted-middle", "deleted-tail", "reordered", "forged-signature"])
def test_a_tampered_bundle_names_its_first_bad_position(bundle, client, change, seq, kind):
    code, output = run_verifier(rewrite(bundle, change), published_key(client))
    assert code == 1 and f"first bad position {seq}: {kind}" in output, output


def test_a_bundle_is_checked_against_the_given_key_not_its_own(bundle):
    other = keys.b64encode(keys.ed25519_from_b64(OTHER_KEY).public_raw)
    code, output = run_verifier(bundle, other)
    assert code == 1 and "first bad position 1: signature" in output
    code, output = run_verifier(bundle)  # the bundle's own keys: consistent, and it says so
    assert code == 0 and "pass --public-key" in output


def test_the_audit_admin_downloads_a_bundle_and_it_is_audited(chain, web_as, audit_admin, tmp_path):
    response = web_as(audit_admin).get(reverse("security:audit-bundle"), {"date": _today()})
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    path = tmp_path / "download.jsonl.gz"
    path.write_bytes(b"".join(response.streaming_content))
    assert run_verifier(path)[0] == 0
    event = AuditEvent.objects.get(action="portal.audit.bundle_exported")
    assert event.actor == audit_admin and event.data["via"] == "page"


@pytest.mark.parametrize("role", ["security_admin", "system_admin", "staff"])
def test_the_bundle_download_is_the_audit_admins_alone(chain, web_as, request, role):
    response = web_as(request.getfixturevalue(role)).get(reverse("security:audit-bundle"), {"date": _today()})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="portal.audit.bundle_exported").exists()
