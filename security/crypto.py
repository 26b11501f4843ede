"""Field encryption at rest (R28.3): AES-256-GCM tokens and an HMAC-SHA256 blind index.

Keys come from the environment (settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY; dev/test
settings carry fixed non-secret defaults, production has none):

- FIELD_ENCRYPTION_KEYS = "kid:base64url(32 bytes),kid2:…" — the first key encrypts, every listed key
  decrypts, so a new key is put first, `manage.py rotate_field_keys` re-encrypts the stored values, and
  the old key is removed afterwards.
- BLIND_INDEX_KEY = base64url(32 bytes) — keys the blind index (lookups and upserts by subject key) and
  the row digests. Changing it needs `rotate_field_keys --blind-index-from <old key>` (recomputes them).

Tokens are "<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>" with a random 96-bit nonce; the kid names the key,
so rotation never has to guess. The algorithm sits behind these functions so SM4/SM3 (GB/T 39786) can
replace AES/SHA-256 without touching callers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]{38,}={0,2}$")
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class DecryptionError(ValueError):
    """The token is malformed, names an unknown key, or fails authentication (tampered)."""


def _b64decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """"kid:b64,kid:b64" → [(kid, 32-byte key)], current key first; raises ImproperlyConfigured."""
    keys: list[tuple[str, bytes]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not _KID_RE.match(kid):
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: each key is 'kid:base64url(32 bytes)'")
        try:
            raw = _b64decode(b64)
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} is not base64url") from exc
        if len(raw) != 32:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} must be 32 bytes")
        if any(k == kid for k, _ in keys):
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key id {kid!r} listed twice")
        keys.append((kid, raw))
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set")
    return keys


class FieldCipher:
    """The key ring: encrypts with the current key, decrypts with any listed key, computes blind indexes."""

    def __init__(self, keys_spec: str, blind_key_b64: str):
        self.spec = (keys_spec, blind_key_b64)  # (what a worker process builds the same key ring from)
        keys = parse_keys(keys_spec)
        self.current_kid = keys[0][0]
        self._current = AESGCM(keys[0][1])
        self._prefix = self.current_kid + ":"
        self._by_kid = {kid: AESGCM(raw) for kid, raw in keys}
        try:
            blind = _b64decode(blind_key_b64 or "")
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured("BLIND_INDEX_KEY is not base64url") from exc
        if len(blind) != 32:
            raise ImproperlyConfigured("BLIND_INDEX_KEY must be 32 bytes (base64url)")
        self.blind_key = blind

    def encrypt(self, text: str) -> str:
        nonce = os.urandom(12)
        sealed = self._current.encrypt(nonce, text.encode(), None)
        return self._prefix + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def bulk_encryptor(self):
        """A faster `encrypt` for one bulk load: nonce = 8 random bytes fixed per call of this method ‖ a
        32-bit counter (NIST SP 800-38D §8.2.1 deterministic construction), saving a getrandom() per value.
        Nonces stay unique under the key: each encryptor draws its own 64-bit random field and renews it
        before the counter wraps."""
        aes = self._current
        prefix = self._prefix
        b2a = binascii.b2a_base64
        table = _URLSAFE
        state = {"field": os.urandom(8), "n": 0}

        def encrypt(text: str) -> str:
            n = state["n"] = state["n"] + 1
            if n >= 0xFFFFFFFF:
                state["field"], state["n"], n = os.urandom(8), 1, 1
            nonce = state["field"] + n.to_bytes(4, "big")
            return prefix + b2a(nonce + aes.encrypt(nonce, text.encode(), None), newline=False).translate(
                table).decode("ascii").rstrip("=")

        seal = aes.encrypt

        def many(texts) -> list:
            """encrypt() over a list (None for empty values), one interpreter frame for the whole list."""
            out = []
            append = out.append
            fixed = state["field"]
            n = state["n"]
            for text in texts:
                if not text:
                    append(None)
                    continue
                n += 1
                if n >= 0xFFFFFFFF:
                    fixed = state["field"] = os.urandom(8)
                    n = 1
                nonce = fixed + n.to_bytes(4, "big")
                append(prefix + b2a(nonce + seal(nonce, text.encode(), None), newline=False).translate(
                    table).decode("ascii").rstrip("="))
            state["n"] = n
            return out

        encrypt.many = many
        return encrypt

    def decrypt(self, token: str) -> str:
        kid, sep, body = (token or "").partition(":")
        aes = self._by_kid.get(kid) if sep else None
        if aes is None:
            raise DecryptionError(f"unknown key id {kid!r}" if sep else "not an encrypted token")
        try:
            raw = _b64decode(body)
            return aes.decrypt(raw[:12], raw[12:], None).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("token does not authenticate") from exc

    def raw_decryptors(self) -> dict[str, Callable[[bytes, bytes, None], bytes]]:
        """kid → `AESGCM.decrypt(nonce, sealed, None)` of every listed key, for bulk readers that parse tokens
        themselves (same format and semantics as `decrypt`; InvalidTag when a value does not authenticate)."""
        return {kid: aes.decrypt for kid, aes in self._by_kid.items()}

    def open_many(self, bodies: list) -> list[bytes]:
        """The plaintext bytes of many tokens of the CURRENT key, in one interpreter frame. Each is given as its
        body (the token after "<kid>:") in standard base64 (`-_` → `+/`) and padded; `=` beyond the padding is
        ignored, so appending "==" to every body will do. All or nothing: DecryptionError when any body does not
        decode or authenticate (the caller then decides value by value). A bulk read (the CSV export) spends most
        of its time here: ≈ 1 µs a value, nearly all of it `AESGCM.decrypt` (a cipher context per call)."""
        decrypt = self._current.decrypt
        a2b = binascii.a2b_base64
        try:
            return [decrypt(raw[:12], raw[12:], None) for raw in map(a2b, bodies)]
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("token does not authenticate") from exc

    def blind_index(self, text: str) -> bytes:
        return hmac.digest(self.blind_key, normalise(text).encode(), "sha256")

    def digest(self, payload: bytes) -> bytes:
        """Keyed digest (BLAKE2b MAC, 32 bytes) of arbitrary bytes: row digests detect changes and tampering
        without plaintext; BLAKE2b's keyed mode is a MAC and three times faster than HMAC-SHA256 here."""
        return hashlib.blake2b(payload, key=self.blind_key, digest_size=32).digest()

    def is_current(self, token: str) -> bool:
        return isinstance(token, str) and token.startswith(self._prefix)


def normalise(text: str) -> str:
    """The form a subject key is indexed under: stripped, upper-case (ID numbers end in X)."""
    return (text or "").strip().upper()


@lru_cache(maxsize=4)
def _cipher_for(keys_spec: str, blind_key: str) -> FieldCipher:
    return FieldCipher(keys_spec, blind_key)


def cipher() -> FieldCipher:
    """The key ring of the current settings (cached per settings value, so tests may override them)."""
    return _cipher_for(getattr(settings, "FIELD_ENCRYPTION_KEYS", ""), getattr(settings, "BLIND_INDEX_KEY", ""))


def encrypt(text: str) -> str:
    """AES-256-GCM token "<kid>:<base64url>" of `text` under the current key (random nonce)."""
    return cipher().encrypt(text)


def decrypt(token: str) -> str:
    """Plain text of a token; raises DecryptionError when it is not one of ours or was altered."""
    return cipher().decrypt(token)


def blind_index(text: str) -> bytes:
    """HMAC-SHA256 (32 bytes) of the normalised value: equal keys give equal indexes, nothing else leaks."""
    return cipher().blind_index(text)


def is_encrypted(value) -> bool:
    """Whether `value` looks like one of our tokens (a known key id and a base64url body)."""
    if not isinstance(value, str) or not _TOKEN_RE.match(value):
        return False
    return value.partition(":")[0] in cipher()._by_kid


def generate_key() -> str:
    """A new random key, base64url without padding (for .env files)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
