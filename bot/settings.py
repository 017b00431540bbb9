"""Settings, read once from the environment and `.env` into one typed object.

Every setting is listed, grouped and commented, in `.env.example`. Secrets are SecretStr so
they never print. A missing required secret stops start-up with a message naming it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.conversation import FlowConfig
from flows.premium import PremiumRate


class PremiumRow(BaseModel):
    """One row of the premium schedule: amounts in rupiah from a date on."""

    effective_from: date
    jkk: int = Field(ge=0)
    jkm: int = Field(ge=0)


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

    # Outbox sender
    sender_batch_size: int = 50
    sender_max_attempts: int = 8

    # Logging
    log_level: str = "INFO"

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
        )

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix):])
        return None
