from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import read_settings

ROOT = Path(__file__).resolve().parents[2]


def test_project_config_loads_and_is_frozen():
    s = read_settings(ROOT / "config.yaml")
    assert s.topics.k >= 2
    assert s.base_dir == ROOT
    with pytest.raises(Exception):
        s.topics.k = 3  # type: ignore[misc]


def test_unknown_key_is_named(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("topics:\n  kk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics\.kk: unknown key"):
        read_settings(cfg)


def test_bad_enum_value_lists_allowed_values(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("runner:\n  kind: cluster\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"runner\.kind.*'process', 'thread' or 'dask'"):
        read_settings(cfg)


def test_unknown_section_is_an_error(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tagger: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="tagger: unknown key"):
        read_settings(cfg)


def test_relative_paths_resolve_against_config_folder(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("store:\n  root: mydata\n", encoding="utf-8")
    s = read_settings(cfg)
    assert s.path(s.store.root) == tmp_path / "mydata"


def test_config_hash_changes_with_settings(tmp_path):
    a = read_settings(ROOT / "config.yaml")
    b = read_settings(ROOT / "config.yaml", topics__k=12)
    assert a.hash != b.hash and len(a.hash) == 64
