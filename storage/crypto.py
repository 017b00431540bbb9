"""Encryption at rest and keyed lookup for personal data (UU 27/2022 PDP).

Fernet (AES-128-CBC + HMAC) from `cryptography`; MultiFernet so keys can be rotated: the first
key encrypts, all keys decrypt. A NIK is found by HMAC-SHA256 under a separate key, so neither
the hash column nor a dump of it can be reversed by trying all 10^16 NIKs without that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CipherError(Exception):
    """A token could not be decrypted with any configured key."""


class PersonalDataCipher:
    """Encrypts strings and JSON for storage; hashes NIKs for lookup."""

    def __init__(self, encryption_keys: list[str], hash_key: str) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in encryption_keys])
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


def generate_key() -> str:
    """A fresh Fernet key, also fit as a hash key."""
    return Fernet.generate_key().decode()
