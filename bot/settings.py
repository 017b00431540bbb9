"""Settings, read once from the environment and `.env` into one typed object.

Every setting is listed, grouped and commented, in `.env.example`. Secrets are SecretStr so
they never print. A missing required secret stops start-up with a message naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # Approved template messages for messages the bot starts outside the 24-hour window.
    whatsapp_template_language: str = "id"
    whatsapp_template_news: str = "asn_peduli_kabar"
    whatsapp_template_reminder: str = "asn_peduli_pengingat"
    whatsapp_template_broadcast: str = "asn_peduli_siaran"
    whatsapp_template_report: str = "asn_peduli_laporan"

    # Web server (asn-peduli serve)
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_max_body_bytes: int = 256 * 1024
    # Slow or greedy clients: a request must arrive whole within the timeout, and connections
    # beyond the maximum are closed at once (so they cannot use up the open-file limit).
    web_request_timeout_seconds: float = Field(default=10.0, ge=1)
    web_max_connections: int = Field(default=100, ge=1)

    # Console (terminal chat)
    console_user_id: str = "1"

    # Program rules
    region_name: str = "Kabupaten Kendal"
    premium_schedule: list[PremiumRow] = Field(default_factory=lambda: list(DEFAULT_SCHEDULE))
    enrolment_max_age: int = 65
    enrolment_min_age: int = 15
    deduction_offset_months: int = Field(default=1, ge=0, le=3)

    # Identification
    login_max_failures: int = 5
    login_window_minutes: int = 60

    # Outbox sender: pacing per channel (messages per second overall, per private chat,
    # per group chat per minute), as Telegram and the Cloud API allow.
    sender_batch_size: int = 50
    sender_max_attempts: int = 8
    sender_claim_seconds: int = 60
    telegram_rate_overall: float = 30.0
    telegram_rate_private_chat: float = 1.0
    telegram_rate_group_per_minute: float = 20.0
    whatsapp_rate_overall: float = 80.0

    # Coordinators, reports and reminders (times are Asia/Jakarta)
    coverage_target_percent: float = Field(default=20.0, gt=0, le=100)
    report_day: int = Field(default=1, ge=1, le=28)
    report_time: time = time(8, 0)
    coordinator_reminder_time: time = time(9, 0)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(7, 0)
    reminder_unfinished_days: list[int] = Field(default_factory=lambda: [1, 3])
    reminder_monthly_day: int = Field(default=10, ge=1, le=28)
    # A reminder waits while its recipient is talking to the bot (wrote in the last N
    # minutes), so it never lands between a button press and its answer; 0: never waits.
    reminder_hold_minutes: int = Field(default=10, ge=0, le=120)
    scheduler_interval_seconds: int = 60

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        """`LOG_LEVEL=debug` means DEBUG, as Python's logging reads its names."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("premium_schedule")
    @classmethod
    def _schedule_not_empty(cls, rows: list[PremiumRow]) -> list[PremiumRow]:
        if not rows:
            raise ValueError("the premium schedule needs at least one row")
        return sorted(rows, key=lambda row: row.effective_from)

    @property
    def encryption_keys(self) -> list[str]:
        return [key.strip() for key in self.data_encryption_keys.get_secret_value().split(",")
                if key.strip()]

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
