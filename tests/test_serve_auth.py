"""`routeledger app --host`: another address than loopback only with OIDC login configured (or --no-auth)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.serve import auth_problem, is_loopback
from tests.conftest import ROOT, run_cli

COMPLETE = """
[auth]
redirect_uri = "https://routeledger.example.com/oauth2callback"
cookie_secret = "a long random string"
client_id = "routeledger"
client_secret = "s3cret"
server_metadata_url = "https://login.example.com/.well-known/openid-configuration"
"""


def secrets(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "[::1]"])
def test_loopback_addresses_need_no_login(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "::", "routeledger.internal"])
def test_other_addresses_do(address):
    assert not is_loopback(address)


def test_complete_auth_settings_pass(tmp_path):
    assert auth_problem([secrets(tmp_path, COMPLETE)]) is None


def test_complete_settings_without_authlib_say_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "authlib" else find_spec(name))

    assert auth_problem([secrets(tmp_path, COMPLETE)]) == (
        "Authlib is not installed (st.login needs it): pip install 'routeledger[auth]'"
    )


def test_a_named_provider_section_counts(tmp_path):
    text = """
[auth]
redirect_uri = "https://routeledger.example.com/oauth2callback"
cookie_secret = "a long random string"
[auth.okta]
client_id = "routeledger"
client_secret = "s3cret"
server_metadata_url = "https://example.okta.com/.well-known/openid-configuration"
"""
    assert auth_problem([secrets(tmp_path, text)]) is None


def test_missing_settings_are_named(tmp_path):
    assert auth_problem([tmp_path / "absent.toml"]) == "no [auth] section in .streamlit/secrets.toml"
    partial = secrets(tmp_path, '[auth]\nredirect_uri = "https://x/oauth2callback"\nclient_id = "a"\n')
    assert auth_problem([partial]) == (
        "[auth] lacks cookie_secret, client_id / client_secret / server_metadata_url "
        "(in [auth] or an [auth.<provider>] section)"
    )


def test_serving_another_address_without_login_is_refused(tmp_path):
    # HOME elsewhere: no user-wide secrets; the checkout has no .streamlit/secrets.toml
    assert not (ROOT / ".streamlit" / "secrets.toml").exists()
    result = run_cli("app", "--db", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0", env={"HOME": str(tmp_path)})

    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0 without login: no [auth] section in .streamlit/secrets.toml" in result.stderr
    assert "--no-auth" in result.stderr


def test_with_login_required_the_app_shows_nothing_before_login(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELEDGER_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("ROUTELEDGER_REQUIRE_LOGIN", "1")

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()

    assert not at.exception
    assert [title.value for title in at.title] == ["routeledger"]
    assert [button.label for button in at.button] == ["Log in"]
    assert len(at.dataframe) == 0 and len(at.metric) == 0 and len(at.caption) == 0
