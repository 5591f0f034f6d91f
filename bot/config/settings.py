"""Settings: read once at the entry point from the environment and ``.env``, then passed down.

Every field is documented in ``.env.example`` (a test keeps the two in step).
There is no module-level instance: call ``Settings()`` (or ``load_settings``) at the entry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.config.env import describe_errors, env_file_values, unknown_names
from bot.errors import ConfigError
from bot.text.duration import EXAMPLES, format_duration, parse_duration

_DURATIONS = (
    "default_interval",
    "min_interval",
    "max_interval",
    "fetch_timeout",
    "connect_timeout",
    "parse_timeout",
    "llm_timeout",
    "feed_lease",
    "rules_reload_timeout",
)


def setting_duration(value: object) -> float:
    """``90``, ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` -> seconds (``bot.text.duration``)."""
    seconds = parse_duration(value)
    if seconds is None:
        raise ValueError(f"not a duration: use e.g. {EXAMPLES}")
    return seconds


Duration = Annotated[float, Field(ge=0)]
MIN_RETENTION_DAYS = 7
PositiveDuration = Annotated[float, Field(gt=0)]

Role = Literal["poller", "sender", "updates"]
ROLES: tuple[Role, ...] = ("poller", "sender", "updates")


def parse_roles(value: str) -> tuple[Role, ...]:
    """``poller,sender`` -> the roles in their fixed order; ``all`` is every role."""
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not names:
        raise ValueError("no role given (use poller, sender, updates or all)")
    wanted: set[str] = set()
    for name in names:
        if name == "all":
            wanted.update(ROLES)
        elif name in ROLES:
            wanted.add(name)
        else:
            raise ValueError(f"unknown role {name!r} (use poller, sender, updates or all)")
    return tuple(role for role in ROLES if role in wanted)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDIABOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        validate_default=True,
    )

    # Telegram
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()

    # Storage and rules
    database_url: str = "sqlite:///data/mediabot.db"
    rules_dir: Path = Path("rules")
    # A live reload reads the rules in a worker process with these limits.
    rules_reload_timeout: Annotated[float, Field(gt=0)] = 30.0
    rules_reload_max_mb: int = Field(default=1024, ge=128)
    # Retention, in days (0: keep forever); see bot.store.areas.retention.
    seen_retention_days: int = 90
    outbox_retention_days: int = 90

    # Feeds
    allow_private_networks: bool = False
    backfill: int = Field(default=0, ge=0)
    default_interval: Duration = 600.0
    min_interval: Duration = 30.0
    max_interval: Duration = 86400.0
    fetch_timeout: PositiveDuration = 20.0
    connect_timeout: PositiveDuration = 10.0
    max_body_bytes: int = Field(default=10_000_000, gt=0)
    max_concurrency: int = Field(default=10, ge=1)
    per_host_concurrency: int = Field(default=2, ge=1)
    # Worker processes that parse feed documents; unset: one per core, at most 4.
    parse_processes: int | None = Field(default=None, ge=0, le=64)
    # Per document, in a worker: the time and the memory (over an idle worker) it may take.
    parse_timeout: PositiveDuration = 30.0
    parse_max_memory_mb: int = Field(default=512, ge=0)
    user_agent: str = "mediabot/0.1 (+https://github.com/mediabot; feed monitor)"

    # Alerts
    summary_max_chars: int = Field(default=600, ge=80, le=3000)
    # Personal watches (/watch) one chat may have.
    max_watches: int = Field(default=20, ge=0, le=1000)
    # Machine-written summaries (optional): an OpenAI-compatible chat-completions endpoint.
    llm_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: PositiveDuration = 20.0

    # Operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    timezone: str = "UTC"
    metrics_addr: str | None = None
    # Scale-out (DESIGN §9): the roles this process runs; `mediabot run --role` overrides.
    roles: Annotated[tuple[Role, ...], NoDecode] = ROLES
    # How long a poll may hold its feed before another poller may take it (a poller that
    # died mid-poll); longer than any poll takes.
    feed_lease: PositiveDuration = 300.0

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            bad = [p for p in parts if p and not p.lstrip("-").isdigit()]
            if bad:
                raise ValueError(
                    f"{bad[0]!r} is not a numeric Telegram user id: give ids as numbers, "
                    "comma-separated (e.g. 12345,67890); @userinfobot tells a user theirs"
                )
            return tuple(int(p) for p in parts if p)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        return parse_roles(value) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator(*_DURATIONS, mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return setting_duration(value)

    @field_validator("seen_retention_days", "outbox_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        # Near-duplicates look back 72 hours, coverage baselines a week: keep at least that.
        if value != 0 and value < MIN_RETENTION_DAYS:
            raise ValueError(
                f"use 0 (keep forever) or at least {MIN_RETENTION_DAYS} days, got {value}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("metrics_addr")
    @classmethod
    def _addr(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port, got {value!r}")
        return value

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Settings:
        low, high = format_duration(self.min_interval), format_duration(self.max_interval)
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"MEDIABOT_MIN_INTERVAL ({low}) is longer than MEDIABOT_MAX_INTERVAL ({high})"
            )
        if not self.min_interval <= self.default_interval <= self.max_interval:
            raise ValueError(
                f"MEDIABOT_DEFAULT_INTERVAL={format_duration(self.default_interval)}: must be "
                f"between MEDIABOT_MIN_INTERVAL ({low}) and MEDIABOT_MAX_INTERVAL ({high})"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def redacted(self) -> dict[str, str]:
        """The effective settings as strings, with secrets replaced."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "**********"
            elif value is None:
                text = ""
            elif isinstance(value, tuple):
                text = ",".join(str(v) for v in value)
            elif name.endswith("_url"):
                text = redact_url(str(value))
            elif isinstance(value, bool):
                text = str(value).lower()
            elif name in _DURATIONS:
                text = format_duration(float(value))
            else:
                text = str(value)
            out[f"MEDIABOT_{name.upper()}"] = text
        return out

    def secrets(self) -> list[str]:
        """Every secret value in these settings, for the log redactor."""
        found = [
            v.get_secret_value()
            for v in (getattr(self, n) for n in type(self).model_fields)
            if isinstance(v, SecretStr) and v.get_secret_value()
        ]
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.endswith("_url") and isinstance(value, str):
                found += _url_secrets(value)
        return found


def redact_url(url: str) -> str:
    """``postgresql://u:pw@db/x`` -> ``postgresql://u:***@db/x``; a query string (which may
    carry a key) becomes ``?***``."""
    parts = urlsplit(url)
    if parts.password is None and not parts.query:
        return url  # nothing to hide (and urlunsplit would drop sqlite:///'s empty host)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for _, v in parse_qsl(parts.query) if len(v) >= 8]
    return found


def setting_names() -> set[str]:
    return {f"MEDIABOT_{name.upper()}" for name in Settings.model_fields}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every problem into one ``ConfigError``: a ``MEDIABOT_*``
    name that is no setting (in the environment or ``.env``), or a value that is refused."""
    lines: list[str] = []
    settings: Settings | None = None
    env = os.environ
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    from_file = env_file_values(Path(str(env_file)) if isinstance(env_file, str | Path) else None)
    known = setting_names()
    lines += unknown_names(env, known, where="the environment")
    lines += unknown_names(from_file, known, where=str(env_file))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        secret = {n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
        given = {k.upper(): v for k, v in [*from_file.items(), *env.items()]}
        given |= {f"MEDIABOT_{k.upper()}": str(v) for k, v in overrides.items()}
        lines += describe_errors(exc.errors(), secret, given)
    if lines or settings is None:
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
    return settings
