"""The gazetteer: generated jurisdictions, dated central bodies, departments, levels and its version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.gazetteer import load_gazetteer, level_of

LEXICONS = Path(__file__).resolve().parents[2] / "corpora" / "lexicons"


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer(LEXICONS)


def test_jurisdictions_cover_every_level(gaz):
    assert gaz.entries["上海市"].region_code == "310000"
    assert gaz.entries["阜阳市"].level == "prefectural" and gaz.entries["阜阳市"].province == "安徽省"
    hs = gaz.entries["黑水县"]
    assert hs.level == "county" and gaz.full_name(hs) == "阿坝藏族羌族自治州黑水县"
    assert gaz.lookup("沪").name == "上海市" if gaz.lookup("沪") else gaz.abbreviations["沪"] == "上海市"
    assert gaz.lookup("襄樊").name == "襄阳市"  # historical name
    assert "青浦" in gaz.qualified and "青浦" not in gaz.aliases  # short county forms need their parent
    assert sum(e.level == "county" for e in gaz.entries.values()) > 2500


@pytest.mark.parametrize(("alias", "date", "expected"), [
    ("国家旅游局", "2017-05-01", "国家旅游局"),
    ("国家旅游局", "2019-05-01", "文化和旅游部"),
    ("银监会", "2016-01-01", "中国银行业监督管理委员会"),
    ("银监会", "2019-01-01", "中国银行保险监督管理委员会"),
    ("银保监会", "2024-01-01", "国家金融监督管理总局"),
    ("国务院扶贫办", "2020-01-01", "国务院扶贫开发领导小组办公室"),
    ("国务院扶贫办", "2022-01-01", "国家乡村振兴局"),
    ("国务院扶贫办", "2024-01-01", "农业农村部"),
    ("卫生计生委", "2015-01-01", "国家卫生和计划生育委员会"),
    ("发改委", "2020-01-01", "国家发展和改革委员会"),
    ("工信部", "2020-01-01", "工业和信息化部"),
    ("人社部", "2020-01-01", "人力资源和社会保障部"),
    ("住建部", "2020-01-01", "住房和城乡建设部"),
    ("网信办", "2020-01-01", "国家互联网信息办公室"),
])
def test_names_as_of_date(gaz, alias, date, expected):
    assert gaz.as_of(gaz.lookup(alias), date).name == expected


@pytest.mark.parametrize(("jurisdiction", "words", "date", "expected"), [
    ("江西省", "卫生部门", "2012-07-09", "江西省卫生厅"),
    ("北京市", "民政部门", "2016-06-10", "北京市民政局"),
    ("河北省", "民政部门", "2016-06-10", "河北省民政厅"),
    ("河北省", "生态环境部门", "2022-06-22", "河北省生态环境厅"),
    ("天津市", "生态环境部门", "2022-06-22", "天津市生态环境局"),
    ("贵州省", "林草主管部门", "2022-02-23", "贵州省林业局"),
    ("云南省", "林草主管部门", "2022-02-23", "云南省林业和草原局"),
    ("北京市", "税务部门", "2015-12-13", "北京市"),  # 国税/地税 split: ambiguous
    ("江苏省", "发改委", "2020-01-01", "江苏省发展和改革委员会"),
])
def test_departments_by_date(gaz, jurisdiction, words, date, expected):
    assert gaz.department(gaz.entries[jurisdiction], words, date)[0] == expected


@pytest.mark.parametrize(("name", "level"), [
    ("上海市", "provincial"), ("上海市人民代表大会常务委员会", "provincial"), ("苏州市吴江区", "county"),
    ("阿坝藏族羌族自治州黑水县", "county"), ("北京市丰台区商务委员会", "county"), ("广州市", "prefectural"),
    ("保定市白沟新城管理委员会", "county"), ("公安部", "national"), ("推动长三角一体化发展领导小组", "national"),
    ("香港特别行政区", "provincial"),
])
def test_level_of(gaz, name, level):
    assert level_of(gaz, name) == level


def test_version_changes_with_files(tmp_path):
    folder = tmp_path / "lex"
    shutil.copytree(LEXICONS, folder, ignore=shutil.ignore_patterns("user_dict.txt", "*.py"))
    v1 = load_gazetteer(folder).version
    with open(folder / "blocs.csv", "a", encoding="utf-8") as f:
        f.write("沪浙,上海市|浙江省\n")
    load_gazetteer.cache_clear()
    try:
        assert load_gazetteer(folder).version != v1
    finally:
        load_gazetteer.cache_clear()


def test_bad_bloc_member_is_named(tmp_path):
    from pipeline.errors import PipelineError

    folder = tmp_path / "lex"
    shutil.copytree(LEXICONS, folder, ignore=shutil.ignore_patterns("user_dict.txt", "*.py"))
    with open(folder / "blocs.csv", "a", encoding="utf-8") as f:
        f.write("错块,上海市|火星省\n")
    load_gazetteer.cache_clear()
    try:
        with pytest.raises(PipelineError, match="火星省"):
            load_gazetteer(folder)
    finally:
        load_gazetteer.cache_clear()
