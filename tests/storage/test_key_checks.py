"""The keys are checked against the ones the data was written with, on both engines: a
replaced NIK_HASH_KEY (the same NIK could be enrolled twice) or DATA_ENCRYPTION_KEYS none of
which wrote the data stop every start; a rotation goes through."""

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select

from storage.crypto import generate_key
from storage.key_checks import KeysChanged
from storage.models import Asn, KeyCheck
from tests.conftest import make_settings, migrated_app, seed_roster
from tests.support.worker_drafts import save


def same_database(settings, **keys: str):
    """The settings on the same database, with `keys` (setting names in lower case)."""
    return settings.model_copy(update={name: SecretStr(value) for name, value in keys.items()})


async def stored_checks(app) -> dict[str, str]:
    async with app.sessions() as session:
        return dict((await session.execute(select(KeyCheck.setting, KeyCheck.value))).all())


async def test_the_first_start_writes_the_checks_and_the_same_keys_pass_again(database_url):
    settings = make_settings(database_url)
    async with migrated_app(settings) as app:
        checks = await stored_checks(app)
        await app.migrate()
        assert await stored_checks(app) == checks
    assert set(checks) == {"NIK_HASH_KEY", "DATA_ENCRYPTION_KEYS"}
    for key in (settings.nik_hash_key, settings.data_encryption_keys):
        assert key.get_secret_value() not in "".join(checks.values())
    async with migrated_app(settings):  # a restart
        pass


@pytest.mark.parametrize("replaced", [
    ("nik_hash_key",), ("data_encryption_keys",), ("nik_hash_key", "data_encryption_keys")])
async def test_a_replaced_key_stops_the_start_and_names_it(database_url, replaced):
    settings = make_settings(database_url)
    async with migrated_app(settings) as app:
        checks = await stored_checks(app)

    other = same_database(settings, **{name: generate_key() for name in replaced})
    with pytest.raises(KeysChanged) as refused:
        async with migrated_app(other):
            pass

    assert refused.value.settings == tuple(name.upper() for name in replaced)
    async with migrated_app(settings) as app:  # the old keys still pass: nothing was changed
        assert await stored_checks(app) == checks


async def test_a_rotation_passes_and_the_old_key_may_then_go(database_url):
    settings = make_settings(database_url)
    old = settings.data_encryption_keys.get_secret_value()
    async with migrated_app(settings):
        pass

    new = generate_key()
    async with migrated_app(same_database(settings, data_encryption_keys=f"{new},{old}")):
        pass
    async with migrated_app(same_database(settings, data_encryption_keys=new)) as app:
        canary = (await stored_checks(app))["DATA_ENCRYPTION_KEYS"]
        assert app.cipher.canary_under_first_key(canary) == canary  # written anew under it
    with pytest.raises(KeysChanged):  # the old key alone no longer reads the canary
        async with migrated_app(settings):
            pass


@pytest.mark.parametrize("replaced", ["nik_hash_key", "data_encryption_keys"])
async def test_a_database_with_workers_and_no_checks_yet_is_compared_with_a_worker(
        database_url, replaced):
    """A database upgraded to 0004: keys replaced before the checks existed are caught."""
    settings = make_settings(database_url)
    async with migrated_app(settings) as app:
        await seed_roster(app)
        async with app.sessions() as session:
            asn_id = await session.scalar(select(Asn.id).limit(1))
        await save(app, asn_id)
        async with app.sessions.begin() as session:
            await session.execute(delete(KeyCheck))

    with pytest.raises(KeysChanged) as refused:
        async with migrated_app(same_database(settings, **{replaced: generate_key()})):
            pass
    assert refused.value.settings == (replaced.upper(),)

    async with migrated_app(settings) as app:  # the right keys: the checks are written now
        assert set(await stored_checks(app)) == {"NIK_HASH_KEY", "DATA_ENCRYPTION_KEYS"}
