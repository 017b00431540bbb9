"""Whether the configured keys are the ones this database's data was written with.

Under another NIK_HASH_KEY every stored NIK is unfindable, so the same worker could be
enrolled a second time (one active enrolment per NIK is checked by its HMAC); under
DATA_ENCRYPTION_KEYS none of which wrote the data, no stored NIK, birth date, phone,
conversation or message can be read. Either way the bot must not run. The first start writes
a check per setting (table key_checks, storage/crypto.py makes them); every start after
compares, before the command does anything else.

A database that already holds workers when it first gets its checks (one upgraded to
migration 0004) is compared with a worker of its own first: keys replaced before the checks
existed are caught too.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import CipherError, PersonalDataCipher
from storage.database import dialect_insert, transaction
from storage.models import KeyCheck, Worker

NIK_HASH_KEY = "NIK_HASH_KEY"
DATA_ENCRYPTION_KEYS = "DATA_ENCRYPTION_KEYS"


class KeysChanged(Exception):
    """The configured keys are not the ones the data was written with; `settings` names
    the settings that differ (the command line says so in Indonesian, cli/keys_changed)."""

    def __init__(self, settings: Sequence[str]) -> None:
        self.settings = tuple(settings)
        super().__init__(f"{', '.join(self.settings)}: not the key the data was written with")


async def check_keys(sessions: async_sessionmaker[AsyncSession],
                     cipher: PersonalDataCipher) -> None:
    """Write the checks the database lacks, then compare every one with `cipher`'s keys;
    KeysChanged when any differs. After a rotation (a new first key, the old one behind it)
    the canary is written anew under the first key."""
    async with transaction(sessions) as session:
        if not await _stored(session):
            await _agrees_with_a_worker(session, cipher)
        # Two processes starting on a new database at once: the first one's checks stay.
        await session.execute(dialect_insert(session, KeyCheck).values([
            {"setting": NIK_HASH_KEY, "value": cipher.hash_key_check()},
            {"setting": DATA_ENCRYPTION_KEYS, "value": cipher.canary()},
        ]).on_conflict_do_nothing())
        stored = await _stored(session)
        changed = []
        if not hmac.compare_digest(stored[NIK_HASH_KEY], cipher.hash_key_check()):
            changed.append(NIK_HASH_KEY)
        try:
            canary = cipher.canary_under_first_key(stored[DATA_ENCRYPTION_KEYS])
        except CipherError:
            changed.append(DATA_ENCRYPTION_KEYS)
        else:
            if canary != stored[DATA_ENCRYPTION_KEYS]:
                await session.execute(update(KeyCheck).where(
                    KeyCheck.setting == DATA_ENCRYPTION_KEYS).values(value=canary))
        if changed:
            raise KeysChanged(changed)


async def _stored(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(KeyCheck.setting, KeyCheck.value))
    return {setting: value for setting, value in rows}


async def _agrees_with_a_worker(session: AsyncSession, cipher: PersonalDataCipher) -> None:
    """One stored worker's NIK is readable and hashes to its stored HMAC (nothing to compare
    on a database without workers)."""
    row = (await session.execute(select(Worker.nik_enc, Worker.nik_hash).limit(1))).first()
    if row is None:
        return
    try:
        nik = cipher.decrypt(row.nik_enc)
    except CipherError:
        raise KeysChanged([DATA_ENCRYPTION_KEYS]) from None
    if not hmac.compare_digest(cipher.nik_hash(nik), row.nik_hash):
        raise KeysChanged([NIK_HASH_KEY])
