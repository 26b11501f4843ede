"""Field encryption: AES-GCM tokens with key ids, rotation, blind index, tamper detection."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from security import crypto

KEY_A = "test1:KprsXFZGTWgT8t8xSdDfLbJDBbcgiHAz0bmxVBz52KU"
KEY_B = "test2:FdrsnhMcmKhEwoHQDDyIFPF0NlUjnNlncMmPQxjbzDU"


def test_round_trip_and_random_nonce():
    a, b = crypto.encrypt("410802199003071239"), crypto.encrypt("410802199003071239")
    assert a != b and a.startswith("test1:")
    assert crypto.decrypt(a) == crypto.decrypt(b) == "410802199003071239"
    assert crypto.is_encrypted(a) and not crypto.is_encrypted("410802199003071239")
    assert crypto.decrypt(crypto.encrypt("张三")) == "张三"


def test_tampered_or_foreign_tokens_are_refused():
    token = crypto.encrypt("秘密")
    kid, body = token.split(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{kid}:{flipped}")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"nokey:{body}")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("plain text")


def test_rotation_new_key_encrypts_old_key_still_decrypts(settings):
    old = crypto.encrypt("410802199003071239")
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    new = crypto.encrypt("410802199003071239")
    assert new.startswith("test2:")
    assert crypto.decrypt(old) == crypto.decrypt(new)
    settings.FIELD_ENCRYPTION_KEYS = KEY_B
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old)


def test_blind_index_normalises_and_is_keyed(settings):
    assert crypto.blind_index(" 41080219900307123x ") == crypto.blind_index("41080219900307123X")
    assert len(crypto.blind_index("x")) == 32
    before = crypto.blind_index("41080219900307123X")
    settings.BLIND_INDEX_KEY = "FdrsnhMcmKhEwoHQDDyIFPF0NlUjnNlncMmPQxjbzDU"
    assert crypto.blind_index("41080219900307123X") != before


def test_bulk_encryptor_tokens_decrypt_and_nonces_differ():
    enc = crypto.cipher().bulk_encryptor()
    tokens = [enc("同一个值") for _ in range(100)]
    assert len(set(tokens)) == 100
    assert {crypto.decrypt(t) for t in tokens} == {"同一个值"}


@pytest.mark.parametrize("spec", ["", "nokid", "k1:short", "k1:KprsXFZGTWgT8t8xSdDfLbJDBbcgiHAz0bmxVBz52KU,k1:"
                                  "KprsXFZGTWgT8t8xSdDfLbJDBbcgiHAz0bmxVBz52KU"])
def test_bad_key_configuration_is_refused(spec):
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keys(spec)
