"""Settings: one registry, parsed and validated, and documented in the README."""

from __future__ import annotations

import os
import re

import pytest

from newsdesk.service.config import ConfigError, Settings, settings_table

from tests.conftest import ROOT


def test_readme_documents_every_setting_exactly() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings-table -->")[1].split("<!-- /settings-table -->")[0]
    documented = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(NEWSDESK_\w+)` \| `([^`]*)` \|", table, re.M)}
    assert documented == {name: default for name, default, _ in settings_table()}


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env({"NEWSDESK_CHUNK_TOKENS": "256", "NEWSDESK_INDEX_TYPE": "hnsw"})
    assert settings.chunk_tokens == 256 and settings.index_type == "hnsw"


@pytest.mark.parametrize("env, message", [
    ({"NEWSDESK_INDEX_TYPE": "annoy"}, "choose one of flat, hnsw, ivfpq"),
    ({"NEWSDESK_CHUNK_TOKENS": "lots"}, "is not a valid int"),
    ({"NEWSDESK_CHUNK_TOKENS": "8"}, "must be at least 16"),
    ({"NEWSDESK_CHUNK_OVERLAP_TOKENS": "300"}, "must be smaller than"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_each_server_worker_gets_its_share_of_the_cores_for_the_model() -> None:
    assert Settings(workers=2).for_worker().embed_threads == max(1, (os.cpu_count() or 1) // 2)
    assert Settings(workers=64).for_worker().embed_threads == 1
    assert Settings(workers=2, embed_threads=3).for_worker().embed_threads == 3  # set by the operator: kept
    assert Settings(workers=1, embed_threads=0).embedder().threads is None  # outside the server: ONNX Runtime's default


@pytest.mark.parametrize("env, message", [
    ({"NEWSDESK_DATABASE_URL": "mysql://reader:password@db.example/news"}, "is not a PostgreSQL URL"),
    ({"NEWSDESK_DATABASE_REPLICA_URLS": "postgresql://reader:password@replica.example/news"}, "needs NEWSDESK_DATABASE_URL"),
])
def test_database_urls_are_checked_and_never_shown_with_their_password(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as failure:
        Settings.from_env({**env, "NEWSDESK_DATABASE_URL": env.get("NEWSDESK_DATABASE_URL", "")})
    assert "password" not in str(failure.value)
