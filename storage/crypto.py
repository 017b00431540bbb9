"""Encryption at rest and keyed lookup for personal data (UU 27/2022 PDP).

Fernet (AES-128-CBC + HMAC) from `cryptography`; MultiFernet so keys can be rotated: the first
key encrypts, all keys decrypt. A NIK is found by HMAC-SHA256 under a separate key, so neither
the hash column nor a dump of it can be reversed by trying all 10^16 NIKs without that key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# What storage/key_checks.py keeps to recognise the keys: an HMAC of the label, a token of
# the canary. Fixed texts, so neither says anything but which key made it.
_HASH_KEY_LABEL = b"asn-peduli: NIK_HASH_KEY check"
_CANARY = "asn-peduli: DATA_ENCRYPTION_KEYS check"


class CipherError(Exception):
    """A token could not be decrypted with any configured key."""


class PersonalDataCipher:
    """Encrypts strings and JSON for storage; hashes NIKs for lookup."""

    def __init__(self, encryption_keys: list[str], hash_key: str) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is needed")
        fernets = [Fernet(key.encode()) for key in encryption_keys]
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._hash_key = hash_key.encode()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise CipherError("token not readable with the configured keys") from exc

    def encrypt_json(self, value: Any) -> str:
        return self.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))

    def nik_hash(self, nik: str) -> str:
        return hmac.new(self._hash_key, nik.encode(), hashlib.sha256).hexdigest()

    def hash_key_check(self) -> str:
        """The same for the same hash key, different for another, and no way back to it."""
        return hmac.new(self._hash_key, _HASH_KEY_LABEL, hashlib.sha256).hexdigest()

    def canary(self) -> str:
        """A fixed text under the first key: readable later only with that key configured."""
        return self.encrypt(_CANARY)

    def canary_under_first_key(self, token: str) -> str:
        """A stored canary as the first key would write it: `token` itself when the first
        key reads it, written anew when only a key behind it does (the keys were rotated,
        and the old one may go once the data is too). CipherError when no key reads it."""
        with contextlib.suppress(InvalidToken):
            self._first.decrypt(token.encode())
            return token
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise CipherError("canary not readable with the configured keys") from exc


def generate_key() -> str:
    """A fresh Fernet key, also fit as a hash key."""
    return Fernet.generate_key().decode()
