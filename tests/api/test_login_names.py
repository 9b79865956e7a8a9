"""Login names are one name in any case (a tester made "Lan" and "lan" two accounts): the command line,
/admin's API and the sign-in all treat "Lan", "lan" and " LAN " as the same name; a database from
before, which may hold such a pair, upgrades with both accounts working, and `queuekiosk migrate` and
`user list` name the pair. A real server over HTTP, the real command, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from api_helpers import assert_error
from werkzeug.security import generate_password_hash

from queuekiosk.server.core.db import MIGRATIONS, create_db_engine

PASSWORD = "mat-khau-cua-lan"
OTHER = "mat-khau-khac-han"


def login(http, name: str, password: str = PASSWORD):
    return http.post("/api/v1/auth/login", json={"username": name, "password": password})


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_a_name_in_another_case_is_the_same_account_everywhere(live_server, migrated_db_url):
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_db_url}, accounts_by_cli=True)
    srv.cli("user", "add", "Lan", "--role", "clerk", "--counter", "1", input=PASSWORD + "\n")

    for again in ("lan", " LAN "):  # the command line refuses it, naming the account that has it
        refused = srv.cli("user", "add", again, "--role", "supervisor", input=OTHER + "\n", check=False)
        assert refused.returncode == 1, refused.stderr
        assert lines(refused.stderr)[:2] == [
            "Lỗi: chưa thêm tài khoản nào; đã có tài khoản tên “Lan”: tên đăng nhập không phân biệt chữ hoa, "
            "chữ thường (và là duy nhất trong cả hệ thống, mọi điểm phục vụ)",
            "no user was added; a user named “Lan” already exists: login names are the same in upper and lower "
            "case (and unique in the whole installation, every site)",
        ], refused.stderr
    # so does /admin's API, naming the field
    admin = srv.session()
    admin.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    made = admin.post("/api/v1/admin/users", json={"username": "LAN", "password": OTHER, "role": "supervisor"})
    assert "“Lan”" in assert_error(made, 422, "invalid_field", field="username")["message"]
    assert [u["username"] for u in admin.get("/api/v1/admin/users").json()] == ["Lan"]

    # the clerk signs in typing the name in any case; the account is the one made
    clerk = srv.session()
    signed_in = login(clerk, " lAN ")
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"] == "Lan"
    assert clerk.get("/api/v1/auth/me").json()["name"] == "Lan"

    # the command and /admin find it in any case too; a session open ends at a new password (the change
    # is recorded under the account's own name)
    changed = srv.cli("user", "password", "LAN", input=OTHER + "\n")
    assert lines(changed.stderr)[-2:] == ["đã đổi mật khẩu của Lan", "changed the password of Lan"]
    assert_error(clerk.get("/api/v1/auth/me"), 401, "unauthorized")
    assert login(srv.session(), "lan", OTHER).status_code == 200
    disabled = srv.cli("user", "disable", "LAN")
    assert lines(disabled.stderr)[-2:] == ["đã khóa tài khoản Lan", "disabled Lan"]
    assert_error(login(srv.session(), "lan", OTHER), 401, "bad_login")
    enabled = admin.patch("/api/v1/admin/users/lan", json={"active": True})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["username"] == "Lan" and enabled.json()["active"] is True
    assert login(srv.session(), "LAN", OTHER).status_code == 200
    assert "Lan\tclerk\tcounter 1\tactive" in srv.cli("user", "list").stdout


def _database_before_the_change(url: str) -> None:
    """A database at the schema before login names were unique regardless of case (0016), holding
    "Lan" and "lan" (two accounts, each with its password) and "minh"."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    engine = create_db_engine(url)
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "0016")
            users = sa.table(
                "users", *(sa.column(c) for c in ("username", "password_hash", "role", "active", "created_at"))
            )
            connection.execute(
                users.insert(),
                [
                    {"username": name, "password_hash": generate_password_hash(password), "role": "supervisor"}
                    | {"active": True, "created_at": dt.datetime(2026, 1, 5, 8, 0)}
                    for name, password in (("Lan", PASSWORD), ("lan", OTHER), ("minh", OTHER))
                ],
            )
    finally:
        engine.dispose()


def _indexes(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                found = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'"))
            else:
                found = conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'users'"))
            return {row[0] for row in found}
    finally:
        engine.dispose()


def test_an_older_database_with_two_names_alike_upgrades_and_both_keep_working(live_server, db_url):
    _database_before_the_change(db_url)
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": db_url}, start=False, accounts_by_cli=True)
    migrated = srv.cli("migrate")  # not refused: the pair is named, and the unique index left out
    said = lines(migrated.stderr)
    assert said[-2].startswith(
        "có tài khoản tên chỉ khác nhau chữ hoa, chữ thường (từ trước khi tên đăng nhập không phân biệt "
        "chữ hoa, chữ thường): Lan, lan. Mỗi tài khoản vẫn đăng nhập được khi gõ đúng tên của nó"
    ), said
    assert said[-1].startswith("some accounts have names that differ only in case (from before"), said
    assert "uq_users_username_lower" not in _indexes(db_url)
    listed = srv.cli("user", "list")
    assert "Lan, lan" in listed.stderr and "minh\tsupervisor" in listed.stdout

    srv.start()
    # each signs in with its own name and password; a third spelling is neither's
    assert login(srv.session(), "Lan", PASSWORD).json()["user"] == "Lan"
    assert login(srv.session(), "lan", OTHER).json()["user"] == "lan"
    assert_error(login(srv.session(), "LAN", PASSWORD), 401, "bad_login")
    assert login(srv.session(), "MINH", OTHER).json()["user"] == "minh"
    # no third one, and a change names both when the name is neither's
    refused = srv.cli("user", "add", "LAN", "--role", "clerk", "--counter", "1", input=OTHER + "\n", check=False)
    assert refused.returncode == 1 and "“Lan”" in refused.stderr, refused.stderr
    ambiguous = srv.cli("user", "disable", "LAN", check=False)
    assert ambiguous.returncode == 1
    assert "có nhiều tài khoản tên chỉ khác nhau chữ hoa, chữ thường (Lan, lan)" in ambiguous.stderr
    # the spare one disabled, the name in any case is the other's
    srv.cli("user", "disable", "lan")
    assert login(srv.session(), "LAN", PASSWORD).json()["user"] == "Lan"


def test_a_database_whose_names_allow_it_gets_the_unique_index(live_server, db_url):
    """Where no two names differ only in case, the database itself refuses a second one, whoever writes it."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": db_url}, start=False, accounts_by_cli=True)
    srv.cli("user", "add", "lan", "--role", "supervisor", input=PASSWORD + "\n")
    assert "uq_users_username_lower" in _indexes(db_url)
    engine = create_db_engine(db_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, password_hash, role, active, created_at) "
                    "VALUES ('LAN', 'x', 'clerk', true, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()
