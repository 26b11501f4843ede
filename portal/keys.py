"""Ed25519 keys from the environment: the one loading rule of every signing key of the platform.

A key setting holds base64 (standard or URL-safe, padding optional) of the raw 32-byte Ed25519 private key; a public
key setting the raw 32-byte public key the same way. `kid` is the first 16 hex digits of SHA-256 of the raw public key,
so a rotated key is recognisable. Users: `security.documents` (DOCUMENT_SIGNING_KEY, R26.1) and the audit trail's
seals (`portal.audit`, AUDIT_SEAL_KEY, R29.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

ALG = "Ed25519"


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    text = (text or "").strip().replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(raw: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def kid_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    public_raw: bytes
    kid: str

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class PublicKey:
    public: Ed25519PublicKey
    public_raw: bytes
    kid: str


def _raw32(spec: str, setting: str, what: str) -> bytes:
    try:
        raw = b64decode(spec)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{setting} is not base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{setting} must be the raw 32-byte Ed25519 {what} key (base64)")
    return raw


@lru_cache(maxsize=16)
def ed25519_from_b64(spec: str, setting: str = "key") -> SigningKey:
    """The key pair of a private-key setting's value (cached per value); ImproperlyConfigured when it is no key."""
    private = Ed25519PrivateKey.from_private_bytes(_raw32(spec, setting, "private"))
    public = private.public_key()
    public_raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(private, public, public_raw, kid_of(public_raw))


@lru_cache(maxsize=64)
def ed25519_public_from_b64(spec: str, setting: str = "public key") -> PublicKey:
    """A public key from base64 of its raw 32 bytes (cached per value)."""
    raw = _raw32(spec, setting, "public")
    return PublicKey(Ed25519PublicKey.from_public_bytes(raw), raw, kid_of(raw))
