"""Configuration precedence: defaults < config file < environment < flags; bad files warn, never crash."""

from agentwinter_core.config import DEFAULT_MODEL, load_config


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv("AGENTWINTER_MODEL", raising=False)
    config = load_config(tmp_path / "missing.toml")
    assert config.model == DEFAULT_MODEL
    assert config.problems == []
    assert config.section("sessions") == {}


def test_file_then_env_then_flag(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('[agentwinter]\nmodel = "from-file"\nmax_tokens = 1000\n[sessions]\nttl_minutes = 5\n')
    monkeypatch.delenv("AGENTWINTER_MODEL", raising=False)
    assert load_config(path).model == "from-file"
    assert load_config(path).max_tokens == 1000
    assert load_config(path).section("sessions") == {"ttl_minutes": 5}
    monkeypatch.setenv("AGENTWINTER_MODEL", "from-env")
    assert load_config(path).model == "from-env"
    assert load_config(path, model="from-flag").model == "from-flag"
    assert load_config(path, model=None).model == "from-env"


def test_invalid_file_is_reported_and_ignored(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[agentwinter\nmodel = ")
    config = load_config(path)
    assert config.model  # defaults still work
    assert len(config.problems) == 1 and str(path) in config.problems[0]


def test_bad_max_tokens_falls_back_with_a_warning(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[agentwinter]\nmax_tokens = -3\n")
    config = load_config(path)
    assert config.max_tokens > 0
    assert "max_tokens" in config.problems[0]
