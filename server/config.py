"""Settings from the environment (all optional), with the instance folder and secret made on first run."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.subsidies import RateTable, parse_rates


class SettingsError(ValueError):
    """A setting that cannot be used: the server refuses to start and says which and why."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    redis_url: str | None = None
    socketio_channel: str = "flask-socketio"  # Redis pub/sub channels ignore the database number
    ratelimit_prefix: str = "flask-socketio:limits"  # rate-limit keys in Redis: "<channel>:limits" unless set
    host: str = "127.0.0.1"
    port: int = 5000
    geocoder: str = "offline"
    geocoder_options: dict = field(default_factory=dict)
    vapid_subject: str = "mailto:ops@linli.invalid"
    sms_webhook_url: str | None = None
    sms_webhook_secret: str | None = None  # signs webhook calls; derived from secret_key when unset
    push_allowed_hosts: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    cookie_secure: bool = False
    allowed_origins: tuple[str, ...] = ()
    token_days: int = 30
    max_body_bytes: int = 64 * 1024
    rate_limits_enabled: bool = True
    login_limit_phone: str = "10/minute"
    login_limit_addr: str = "300/minute"
    booking_limit: str = "120/minute"
    sos_limit: str = "10/minute"
    scheduler: bool = True
    index_warm: str = "background"  # a new process dispatches from SQL while its geo index loads
    relay_autostart: bool = True  # tests turn it off and drain by hand
    index_check_seconds: float = 0.1  # other processes' provider changes reach this index within this
    map_tiles: str | None = None  # the console map's tile URL template ({z}/{x}/{y}); none: a plain background
    map_attribution: str | None = None
    subsidy_rates: RateTable = field(default_factory=RateTable)  # LINLI_SUBSIDY_RATES: a JSON file

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Read LINLI_* variables; create the instance folder and keep a generated secret there."""
        env = dict(os.environ if env is None else env)
        instance = Path(env.get("LINLI_INSTANCE_PATH") or Path.cwd() / "instance").resolve()
        instance.mkdir(parents=True, exist_ok=True)
        values = dict(
            instance_path=instance,
            database_url=env.get("LINLI_DATABASE_URL") or f"sqlite:///{instance / 'linli.db'}",
            secret_key=env.get("LINLI_SECRET_KEY") or _kept_secret(instance),
            redis_url=env.get("LINLI_REDIS_URL") or None,
            socketio_channel=env.get("LINLI_SOCKETIO_CHANNEL") or "flask-socketio",
            ratelimit_prefix=(env.get("LINLI_RATELIMIT_PREFIX")
                              or f"{env.get('LINLI_SOCKETIO_CHANNEL') or 'flask-socketio'}:limits"),
            host=env.get("LINLI_HOST", "127.0.0.1"),
            port=int(env.get("LINLI_PORT", "5000")),
            geocoder=env.get("LINLI_GEOCODER", "offline"),
            geocoder_options=_prefixed(env, "LINLI_GEOCODER_"),
            vapid_subject=env.get("LINLI_VAPID_SUBJECT", "mailto:ops@linli.invalid"),
            sms_webhook_url=env.get("LINLI_SMS_WEBHOOK_URL") or None,
            sms_webhook_secret=env.get("LINLI_SMS_WEBHOOK_SECRET") or None,
            push_allowed_hosts=_csv(env.get("LINLI_PUSH_ALLOWED_HOSTS")),
            timezone=env.get("LINLI_TIMEZONE", "Asia/Shanghai"),
            cookie_secure=env.get("LINLI_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            allowed_origins=_csv(env.get("LINLI_ALLOWED_ORIGINS")),
            map_tiles=env.get("LINLI_MAP_TILES") or None,
            map_attribution=env.get("LINLI_MAP_ATTRIBUTION") or None,
            subsidy_rates=_subsidy_rates(env.get("LINLI_SUBSIDY_RATES")),
        )
        values.update(overrides)
        return cls(**values)


def _kept_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _prefixed(env: dict[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}


def _subsidy_rates(path: str | None) -> RateTable:
    """The default (illustrative) rates, or those of the JSON file at path; a bad file stops start-up."""
    if not path:
        return RateTable()
    try:
        return parse_rates(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise SettingsError(f"LINLI_SUBSIDY_RATES={path}: {exc}") from exc
