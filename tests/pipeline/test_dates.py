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


@pytest.mark.parametrize("text, ref, iso", [
    ("去年10月5日，两省签署协议。", "2021-03-10", "2020-10-05"),
    ("上月18日，会议召开。", "2021-03-10", "2021-02-18"),
    ("上月28日，会议召开。", "2021-01-10", "2020-12-28"),
    ("本月3日，会议召开。", "2021-03-10", "2021-03-03"),
])
def test_find_dates_reads_dates_named_relative_to_the_year_or_month(text, ref, iso):
    assert find_dates(text, ref)[0].iso == iso


@pytest.mark.parametrize("title, text, iso, how", [
    ("", "关于同意建立联席会议制度的函\n各省人民政府：\n" + "".join(f"{n}．联席会议职责……\n" for n in "一二三四五六")
     + "\n国务院办公厅\n二〇一四年七月十一日\n（此件公开发布）", "2014-07-11", "signature"),
    ("", "发布时间：2019-03-05 10:00\n2018年1月1日起施行的办法……", "2019-03-05", "label"),
    ("长三角区域合作章程（2019年3月5日第一次会议通过）", "正文。2020年1月1日起实施。", "2019-03-05", "title"),
    ("", "泛珠三角区域合作行政首长联席会议秘书处\n泛珠秘〔2018〕12号\n2018年12月18日\n关于……\n正文2019年计划。",
     "2018-12-18", "header"),
    ("", "会议纪要。2019年7月12日印发。会议于2019年7月9日召开。", "2019-07-12", "issued"),
    ("", "2012年4月17日，第十二次市长联席会议在台州举行。会议确定2013年5月在金华召开。", "2012-04-17", "lead"),
    ("", "12月26日，联席会议召开。会议研究了2019年河长制重点工作。", "2018-12-26", "year"),
])
def test_text_date_finds_the_date_the_document_gives_itself(title, text, iso, how):
    from pipeline.dates import text_date

    found = text_date(text, title)
    assert (found.iso, found.how) == (iso, how)
    assert (found.warning is not None) == (how == "year")


def test_text_date_is_none_without_a_year():
    from pipeline.dates import text_date

    assert text_date("9月25日，三地政府在广州签署备忘录。") is None


@pytest.mark.parametrize("info, text, iso", [
    ({"CreationDate": "D:20240926093000+08'00'"}, "9月25日签署。", "2024-09-26"),
    ({"CreationDate": "D:20000101000000+00'00'", "ModDate": "D:20000101000000+00'00'"}, "", None),  # reportlab invariant
    ({"ModDate": "D:20190306"}, "", "2019-03-06"),
    ({"CreationDate": "D:20150101120000"}, "2019年工作要点……2020年目标", None),  # older than every year it names
    ({}, "", None),
])
def test_pdf_metadata_date_skips_placeholders_and_impossible_dates(info, text, iso):
    from pipeline.dates import pdf_metadata_date

    assert pdf_metadata_date(info, text) == iso


def test_document_date_prefers_the_sidecar_then_the_record_the_text_the_collector_the_pdf():
    from pipeline.dates import document_date

    signed = "通知正文。\n\n江苏省人民政府办公厅\n2020年12月8日"
    pdf = lambda: {"CreationDate": "D:20201210"}  # noqa: E731
    assert document_date(signed, "", "2020-12-10", "sidecar", None, pdf)[:2] == ("2020-12-10", "sidecar")
    assert document_date(signed, "", None, None, "2020-12-09", pdf)[:2] == ("2020-12-09", "record")
    assert document_date(signed, "", "2020-12-11", "collector", None, pdf)[:2] == ("2020-12-08", "text")
    undated = "9月25日，三地政府签署备忘录。"
    assert document_date(undated, "", "2024-09-26", "collector", None, pdf)[:2] == ("2024-09-26", "collector")
    year_only = "会议研究了2019年重点工作。"  # a year alone is weaker than the page's date
    assert document_date(year_only, "", "2018-12-27", "collector")[:2] == ("2018-12-27", "collector")
    date, how, warning = document_date(undated, "", None, None, None, pdf)
    assert (date, how) == ("2020-12-10", "pdf_metadata") and "creation date" in warning
    assert document_date(undated, "", None, None, None, lambda: {})[:2] == (None, "none")


def test_read_metadata_reads_utf8_gb18030_and_chinese_headers(tmp_path):
    from pipeline.dates import read_metadata

    (tmp_path / "sub").mkdir()
    (tmp_path / "metadata.csv").write_bytes("\ufefffile,date,url,title,issuer\n"
                                           "a.pdf,2019/3/5,https://www.gov.cn/a.html,标题甲,国务院办公厅\n"
                                           "sub/b.pdf,2019年3月6日,,,\n"
                                           "c.pdf,soon,,标题丙,\n".encode("utf-8"))
    rows, problems = read_metadata(tmp_path / "metadata.csv")
    a = rows[str((tmp_path / "a.pdf").resolve())]
    assert (a.origin, a.date, a.url, a.title, a.issuer) == ("sidecar", "2019-03-05", "https://www.gov.cn/a.html",
                                                            "标题甲", "国务院办公厅")
    assert rows[str((tmp_path / "sub" / "b.pdf").resolve())].date == "2019-03-06"
    c = rows[str((tmp_path / "c.pdf").resolve())]
    assert c.date is None and c.title == "标题丙"
    assert len(problems) == 1 and "line 4" in problems[0] and "'soon'" in problems[0]
    gbk = tmp_path / "excel.csv"  # what Excel saves on a Chinese system
    gbk.write_bytes("文件名,发布日期,标题\nd.pdf,2020-01-02,关于召开联席会议的通知\n".encode("gb18030"))
    rows, problems = read_metadata(gbk)
    d = rows[str((tmp_path / "d.pdf").resolve())]
    assert (d.date, d.title, problems) == ("2020-01-02", "关于召开联席会议的通知", [])
    (tmp_path / "bad.csv").write_text("name,date\nx.pdf,2020-01-01\n", encoding="utf-8")
    rows, problems = read_metadata(tmp_path / "bad.csv")
    assert rows == {} and "no 'file' column" in problems[0]


def test_a_pdf_without_a_date_in_its_text_is_dated_by_its_metadata(sample_dir, tmp_path, settings_factory):
    """A real sample PDF whose text gives only 9月25日: undated with reportlab's placeholder creation date, dated
    2024-09-26 once its information dictionary says so."""
    import pikepdf

    from pipeline import process
    from pipeline.collect import sha256_file
    from pipeline.records import Source

    settings = settings_factory()
    original = sample_dir / "sample-2024-02.pdf"
    o = process.one(Source(sha256_file(original), str(original), "pdf"), settings)
    assert (o.document.date, o.document.date_source) == (None, "none")
    dated = tmp_path / "dated.pdf"
    with pikepdf.open(original) as pdf:
        pdf.docinfo["/CreationDate"] = "D:20240926093000+08'00'"
        pdf.save(dated)
    o = process.one(Source(sha256_file(dated), str(dated), "pdf"), settings)
    assert (o.document.date, o.document.date_source) == ("2024-09-26", "pdf_metadata")
    assert o.tagged.codes.meeting_date == "2024-09-25"  # 9月25日 resolved against the document date
