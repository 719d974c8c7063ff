import pytest

from pipeline.dates import cn_number, find_dates


@pytest.mark.parametrize("raw, n", [("十九", 19), ("第", None), ("二〇一九", 2019), ("一百零二", 102), ("21", 21),
                                    ("十", 10), ("两", 2)])
def test_cn_number_reads_chinese_and_arabic_numerals(raw, n):
    assert cn_number(raw) == n


@pytest.mark.parametrize("text, ref, iso", [
    ("2019年10月15日至16日，会议在湖州召开。", "2019-10-20", "2019-10-15"),
    ("二〇一九年十月十五日，会议召开。", None, "2019-10-15"),
    ("今天（9月28日），北京、天津等9省市签署协议。", "2020-09-28", "2020-09-28"),
    ("会议18日在京召开。", "2021-04-22", "2021-04-18"),
    ("昨天，三地签署协议。", "2022-06-22", "2022-06-21"),
    ("6月5日至6日，座谈会在浙江湖州举行。", "2020-06-06", "2020-06-05"),
    ("12月30日，会议召开。", "2021-01-02", "2020-12-30"),  # a month after the broadcast month: last year
])
def test_find_dates_resolves_against_the_document_date(text, ref, iso):
    assert find_dates(text, ref)[0].iso == iso


def test_find_dates_offsets_index_the_text():
    text = "据悉，2019年4月29日，首次淮河生态经济带省际联席会召开。"
    d = find_dates(text)[0]
    assert text[d.start:d.end] == d.text == "2019年4月29日"
