"""Settings, read once from the environment and `.env` into one typed object.

Every setting is listed, grouped and commented, in `.env.example`. Secrets are SecretStr so
they never print. Every value is checked here, at start-up, not where it is first used: a
missing key, a database URL of an engine the bot does not run on, a key that is not a Fernet
key, a number that makes no sense (an interval of 0 spins, a claim of 0 never sends) stop
the command with a message naming the setting and what is wrong (cli/settings_invalid; each
custom error's type is a case there). No message quotes a value: it may be a key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, get_args

from cryptography.fernet import Fernet
from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from flows.conversation import FlowConfig
from flows.premium import PremiumRate


class NotConfigured(RuntimeError):
    """Settings a command needs are missing or malformed. It names them, and the command
    line says so in Indonesian (cli/not_configured); the English text is for logs and tests.

    `problem` is "missing", "malformed", or "no_channel" (neither Telegram nor WhatsApp)."""

    def __init__(self, names: Sequence[str], problem: str = "missing") -> None:
        self.names = tuple(names)
        self.problem = problem
        english = {"missing": "not set", "malformed": "not valid",
                   "no_channel": "neither Telegram nor WhatsApp is configured"}[problem]
        super().__init__(f"{', '.join(self.names)} {english}".strip())


class PremiumRow(BaseModel):
    """One row of the premium schedule: amounts in rupiah from a date on."""

    effective_from: date
    jkk: int = Field(ge=0)
    jkm: int = Field(ge=0)


# Python's level names; bot/logs.py sets them.
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# The two engines the bot runs on (storage/update_transaction.py): SQLite through aiosqlite,
# PostgreSQL through asyncpg. Neither `sqlite:///` nor `postgresql://` is rewritten.
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")

DEFAULT_SCHEDULE = [PremiumRow(effective_from=date(2022, 1, 1), jkk=10_000, jkm=6_800)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore",
        # "NAME=" left empty, as in .env.example, means "not set", not "empty string".
        env_ignore_empty=True,
    )

    # Database
    database_url: str = "sqlite+aiosqlite:///var/asn_peduli.db"

    # Personal data
    data_encryption_keys: SecretStr
    nik_hash_key: SecretStr

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    # WhatsApp Cloud API
    whatsapp_phone_number_id: str | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "21.0"
    # The business number people write to, international form (6281...): camat's
    # invitations carry https://wa.me/<it>. Unset: invitations are for Telegram only.
    whatsapp_public_number: str | None = None
    # Approved template messages for messages the bot starts outside the 24-hour window.
    whatsapp_template_language: str = "id"
    whatsapp_template_news: str = "asn_peduli_kabar"
    whatsapp_template_reminder: str = "asn_peduli_pengingat"
    whatsapp_template_broadcast: str = "asn_peduli_siaran"
    whatsapp_template_report: str = "asn_peduli_laporan"

    # Web server (asn-peduli serve)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    web_max_body_bytes: int = Field(default=256 * 1024, ge=1)
    # Slow or greedy clients: a request must arrive whole within the timeout, and connections
    # beyond the maximum are closed at once (so they cannot use up the open-file limit).
    web_request_timeout_seconds: float = Field(default=10.0, ge=1)
    web_max_connections: int = Field(default=100, ge=1)

    # Console (terminal chat)
    console_user_id: str = "1"

    # Program rules
    region_name: str = "Kabupaten Kendal"
    premium_schedule: Annotated[list[PremiumRow], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SCHEDULE))
    enrolment_max_age: int = Field(default=65, ge=1)
    enrolment_min_age: int = Field(default=15, ge=0)
    deduction_offset_months: int = Field(default=1, ge=0, le=3)

    # Identification
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=60, ge=1)

    # Outbox sender: pacing per channel (messages per second overall, per private chat,
    # per group chat per minute), as Telegram and the Cloud API allow.
    sender_batch_size: int = Field(default=50, ge=1)
    sender_max_attempts: int = Field(default=8, ge=1)
    sender_claim_seconds: int = Field(default=60, ge=1)
    telegram_rate_overall: float = Field(default=30.0, gt=0)
    telegram_rate_private_chat: float = Field(default=1.0, gt=0)
    telegram_rate_group_per_minute: float = Field(default=20.0, gt=0)
    whatsapp_rate_overall: float = Field(default=80.0, gt=0)

    # Coordinators, reports and reminders (times are Asia/Jakarta)
    coverage_target_percent: float = Field(default=20.0, gt=0, le=100)
    report_day: int = Field(default=1, ge=1, le=28)
    report_time: time = time(8, 0)
    coordinator_reminder_time: time = time(9, 0)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(7, 0)
    reminder_unfinished_days: Annotated[list[Annotated[int, Field(ge=1)]], NoDecode] = Field(
        default_factory=lambda: [1, 3])
    reminder_monthly_day: int = Field(default=10, ge=1, le=28)
    # A reminder waits while its recipient is talking to the bot (wrote in the last N
    # minutes), so it never lands between a button press and its answer; 0: never waits.
    reminder_hold_minutes: int = Field(default=10, ge=0, le=120)
    scheduler_interval_seconds: int = Field(default=60, ge=1)

    # Logging
    log_level: LogLevel = "INFO"

    @field_validator("telegram_bot_token", "telegram_webhook_secret", "whatsapp_access_token",
                     "whatsapp_app_secret", "whatsapp_verify_token", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        """`NAME=   ` counts as not set, like `NAME=`: every check is then `is None`."""
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("whatsapp_public_number", mode="before")
    @classmethod
    def _international_number(cls, value: object) -> object:
        """6281234567890, as wa.me wants it; "+62 812-3456-7890" is read the same, a local
        0812... is refused (wa.me cannot tell its country)."""
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        digits = "".join(ch for ch in value if ch.isdigit())
        if value.strip().lstrip("+")[:1] == "0" or not 10 <= len(digits) <= 15 or any(
                not (ch.isdigit() or ch in "+ -") for ch in value.strip()):
            raise ValueError("an international phone number such as 6281234567890")
        return digits

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_known(cls, value: object) -> object:
        """`LOG_LEVEL=debug` means DEBUG, as Python's logging reads its names; a name it
        does not know is named with the ones it does."""
        if not isinstance(value, str):
            return value
        level = value.strip().upper()
        if level not in get_args(LogLevel):
            raise PydanticCustomError("one_of", "not one of {allowed}",
                                      {"allowed": ", ".join(get_args(LogLevel))})
        return level

    @field_validator("database_url")
    @classmethod
    def _database_known(cls, url: str) -> str:
        """A URL SQLAlchemy reads, of an engine the bot runs on, and for SQLite a file (an
        in-memory database is one per connection and gone at the end)."""
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise PydanticCustomError("database_url_unreadable", "not a database URL") from None
        if parsed.drivername not in DATABASE_DRIVERS:
            raise PydanticCustomError("database_url_driver", "driver {driver} not supported",
                                      {"driver": parsed.drivername})
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            raise PydanticCustomError("database_url_no_file", "SQLite needs a file")
        return url

    @field_validator("data_encryption_keys")
    @classmethod
    def _fernet_keys(cls, keys: SecretStr) -> SecretStr:
        """Each key one Fernet takes; the position of one that is not, never the key."""
        listed = split_keys(keys.get_secret_value())
        if not listed:
            raise PydanticCustomError("no_key", "no key")
        for position, key in enumerate(listed, 1):
            try:
                Fernet(key.encode())
            except ValueError:
                raise PydanticCustomError("fernet_key", "key {position} is not a Fernet key",
                                          {"position": position}) from None
        return keys

    @field_validator("nik_hash_key")
    @classmethod
    def _hash_key_not_blank(cls, key: SecretStr) -> SecretStr:
        """Spaces only are no key (the value itself is used as written: changing it would
        change every NIK's hash)."""
        if not key.get_secret_value().strip():
            raise PydanticCustomError("missing", "not set")
        return key

    @field_validator("premium_schedule", "reminder_unfinished_days", mode="before")
    @classmethod
    def _json_text(cls, value: object) -> object:
        """These come from the environment as JSON text, decoded here (NoDecode) so that a
        mistake is an error naming the setting, not pydantic-settings' own exception."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise PydanticCustomError("json_invalid", "not JSON") from None

    @field_validator("premium_schedule")
    @classmethod
    def _schedule_not_empty(cls, rows: list[PremiumRow]) -> list[PremiumRow]:
        if not rows:
            raise PydanticCustomError("schedule_empty", "no row")
        return sorted(rows, key=lambda row: row.effective_from)

    @field_validator("enrolment_min_age")
    @classmethod
    def _below_max_age(cls, age: int, info: ValidationInfo) -> int:
        """A minimum at or over the maximum would let nobody be enrolled."""
        maximum = info.data.get("enrolment_max_age")
        if maximum is not None and age >= maximum:
            raise PydanticCustomError("below_max_age", "not below {maximum}",
                                      {"maximum": maximum})
        return age

    @property
    def encryption_keys(self) -> list[str]:
        return split_keys(self.data_encryption_keys.get_secret_value())

    def flow_config(self) -> FlowConfig:
        return FlowConfig(
            premium_schedule=tuple(
                PremiumRate(row.effective_from, row.jkk, row.jkm) for row in self.premium_schedule
            ),
            min_age=self.enrolment_min_age,
            max_age=self.enrolment_max_age,
            login_max_failures=self.login_max_failures,
            login_window=timedelta(minutes=self.login_window_minutes),
            deduction_offset_months=self.deduction_offset_months,
            region_name=self.region_name,
            coverage_target_percent=self.coverage_target_percent,
            report_day=self.report_day,
            report_time=self.report_time,
        )

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix):])
        return None


def split_keys(text: str) -> list[str]:
    """DATA_ENCRYPTION_KEYS as a list: comma-separated, the first encrypts, all decrypt."""
    return [key.strip() for key in text.split(",") if key.strip()]
