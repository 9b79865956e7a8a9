"""The real app made in the test's own process (no server, no socket): for tests of what it works out
per request or at its start, driven through Flask's test client or its URL adapter."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def in_process_app(tmp_path: Path, database_url: str, monkeypatch, secret_key: str):
    """The app on ``database_url`` with the repo's config.yaml (limits in memory, hours ignored)."""
    from queuekiosk.server.web.app import create_app

    monkeypatch.setenv("QUEUEKIOSK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("QUEUEKIOSK_DATABASE_URL", database_url)
    monkeypatch.setenv("QUEUEKIOSK_SECRET_KEY", secret_key)
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return create_app(config, ignore_hours=True)
