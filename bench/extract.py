"""Benchmark extraction on the shared real PDFs against poppler's pdftotext and pdfplumber; print one JSON line.

Measures (see issue 3):
- fidelity: F1 of the bag of CJK characters vs `pdftotext -enc UTF-8`, per text-layer file, over the pages where
  pdftotext passes the quality gates. Running-header removal legitimately drops repeated characters pdftotext
  keeps, so the target figure `f1` compares our page text with pdftotext's page text minus the CJK characters
  of the margin lines we removed from that page (the same headers removed from both; `read_pdf` reports them);
  `f1_with_margins` compares our page text plus the removed margin lines with pdftotext's whole page (what we
  read), and `f1_raw` our page text with pdftotext's whole page (no allowance at all). On pages where pdftotext
  gives junk our method must be `ocr` or our text must pass the gates;
- junk: pages of our output containing `(cid:`, U+FFFD or control characters (must be 0);
- CER of OCR on image-only copies (pdftoppm 200 dpi → img2pdf) of text-layer pages vs the text layer;
- speed, on all text-layer files, each way run --reps times interleaved (medians; the machine is shared):
  `pdftotext` started once per file, one at a time (`pdftotext_1`) and two at a time over the same two halves of
  the files (`pdftotext_2`); our extraction in fresh Python processes (start-up and imports counted) with the
  default settings but OCR off, tables off and on (`ours_1`, `ours_1_tables`), and in two processes over the
  same halves, as the mine flow's two workers run it (`ours_2`, `ours_2_tables`). Ratios are pdftotext time /
  our time: `ratio_1` one process each, `ratio_2` two processes each (equal CPU), `ratio_2_vs_1` our two
  workers against pdftotext one file at a time. In-process pages/s vs pdfplumber `extract_text` on every 10th
  page (`ratio_vs_pdfplumber`).

Usage: .venv/bin/python bench/extract.py [--pdfs DIR] [--reps N] [--ocr-pages N] [--no-ocr]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import extract  # noqa: E402
from pipeline.records import Source  # noqa: E402
from pipeline.settings import ExtractSettings  # noqa: E402

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
BAD = re.compile(r"\(cid:|\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# text-layer pages whose image-only copies are OCR'd for the CER figure (file stem, 1-based page)
OCR_PAGES = [("21cdf3b77a55", 2), ("339a54f2e2aa", 3), ("bf66396868a2", 5), ("1c8189b1c36f", 10),
             ("921cb362a88c", 4), ("aafd566b7374", 3)]


def f1(b: Counter, a: Counter) -> float:
    """F1 of the bag `b` (ours) against the bag `a` (the reference)."""
    inter = sum((a & b).values())
    if not a and not b:
        return 1.0
    p, r = inter / max(1, sum(b.values())), inter / max(1, sum(a.values()))
    return 2 * p * r / (p + r) if p + r else 0.0


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def pdftotext_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False)
    return out.stdout.decode("utf-8", "replace").split("\f")[:-1]


def fidelity(files: list[Path], settings: ExtractSettings) -> dict:
    per_file: dict[str, dict[str, float]] = {}
    junk_pages, ref_junk = [], []
    for path in files:
        ref = pdftotext_pages(path)
        result = extract.read_pdf(path, settings)
        pages = result.pages
        junk_pages += [f"{path.stem}:{p.n}" for p in pages if BAD.search(p.text)]
        # pdftotext's U+FFFD for formula glyphs does not touch the CJK bag: only garbled pages are left out
        bad_ref = {i + 1 for i, t in enumerate(ref) if extract._gate(t.replace("\ufffd", ""))}
        ref_junk += [{"page": f"{path.stem}:{n}", "our_method": pages[n - 1].method,
                      "our_quality": pages[n - 1].quality, "our_cjk": len(CJK.findall(pages[n - 1].text)),
                      "our_gate": extract._gate(pages[n - 1].text)} for n in sorted(bad_ref)]
        keep = [p.n for p in pages if p.n not in bad_ref]
        body = Counter(CJK.findall("".join(pages[n - 1].text for n in keep)))
        margins = Counter(CJK.findall("".join("".join(result.margins[n - 1]) for n in keep)))
        whole = Counter(CJK.findall("".join(ref[n - 1] for n in keep if n <= len(ref))))
        per_file[path.stem] = {"f1": round(f1(body, whole - margins), 4),
                               "f1_with_margins": round(f1(body + margins, whole), 4),
                               "f1_raw": round(f1(body, whole), 4)}
    out: dict = {"files": len(per_file)}
    for key in ("f1", "f1_with_margins", "f1_raw"):
        out[f"min_{key}"] = min(v[key] for v in per_file.values())
        out[f"{key}_below_0.99"] = sorted(k for k, v in per_file.items() if v[key] < 0.99)
    ok_junk = all(r["our_method"] == "ocr" or (r["our_gate"] is None and r["our_cjk"] > 0) for r in ref_junk)
    out.update({"per_file": per_file, "pdftotext_junk_pages": len(ref_junk),
                "pdftotext_junk_pages_ours_clean": ok_junk,
                "pdftotext_junk_pages_ours_ocr": sum(1 for r in ref_junk if r["our_method"] == "ocr"),
                "pages_with_cid_fffd_control": junk_pages})
    return out


def _halves(counts: dict[Path, int]) -> list[list[str]]:
    """The files in two halves of about equal page counts (largest first, greedy), as two workers share them."""
    halves: list[list[str]] = [[], []]
    sizes = [0, 0]
    for path, n in sorted(counts.items(), key=lambda x: -x[1]):
        k = sizes.index(min(sizes))
        halves[k].append(str(path))
        sizes[k] += n
    return halves


_CODE = ("import sys; from pipeline import extract; from pipeline.records import Source; "
         "from pipeline.settings import ExtractSettings; s = ExtractSettings(ocr='none', "
         "use_pdfplumber_tables=bool(int(sys.argv[1]))); "
         "n = sum(len(extract.document(Source(p, p, 'pdf'), settings=s).pages) for p in sys.argv[2:]); print(n)")


def _ours(groups: list[list[str]], tables: bool, pages: int) -> float:
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", _CODE, str(int(tables)), *g], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for g in groups]
    done = sum(int(p.communicate()[0].strip()) for p in procs)
    seconds = time.perf_counter() - t
    assert done == pages and all(p.returncode == 0 for p in procs), (done, pages)
    return seconds


def _pdftotext(groups: list[list[str]]) -> float:
    def run(files: list[str]) -> None:
        for f in files:
            subprocess.run(["pdftotext", "-enc", "UTF-8", f, "-"], capture_output=True, check=False)

    t = time.perf_counter()
    with ThreadPoolExecutor(len(groups)) as pool:
        list(pool.map(run, groups))
    return time.perf_counter() - t


def speed(files: list[Path], reps: int) -> dict:
    import pdfplumber

    counts = {path: len(pdftotext_pages(path)) for path in files}
    pages = sum(counts.values())
    one, two = [[str(p) for p in files]], _halves(counts)
    runs: dict[str, Callable[[], float]] = {
        "pdftotext_1": lambda: _pdftotext(one), "pdftotext_2": lambda: _pdftotext(two),
        "ours_1": lambda: _ours(one, False, pages), "ours_2": lambda: _ours(two, False, pages),
        "ours_1_tables": lambda: _ours(one, True, pages), "ours_2_tables": lambda: _ours(two, True, pages)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    s = ExtractSettings(ocr="none", use_pdfplumber_tables=False)
    inproc, plumber = [], []
    for _ in range(reps):
        for key, run in runs.items():
            times[key].append(run())
        t = time.perf_counter()
        for path in files:
            extract.pages(path, s)
        inproc.append(pages / (time.perf_counter() - t))
        sample = 0
        t = time.perf_counter()
        for path in files:
            with pdfplumber.open(str(path)) as pdf:
                for page in pdf.pages[::10]:
                    page.extract_text()
                    sample += 1
        plumber.append(sample / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in times.items()}
    table_pages = sum(len(extract.read_pdf(p, ExtractSettings(ocr="none")).table_pages) for p in files)
    out: dict = {"pages": pages, "reps": reps, "table_pages_detected": table_pages,
                 "seconds_median": {k: round(v, 2) for k, v in med.items()},
                 "pps": {k: round(pages / v, 1) for k, v in med.items()}}
    out.update({"ratio_1": round(med["pdftotext_1"] / med["ours_1"], 2),
                "ratio_2": round(med["pdftotext_2"] / med["ours_2"], 2),
                "ratio_2_vs_1": round(med["pdftotext_1"] / med["ours_2"], 2),
                "ratio_1_tables": round(med["pdftotext_1"] / med["ours_1_tables"], 2),
                "ratio_2_tables": round(med["pdftotext_2"] / med["ours_2_tables"], 2),
                "ratio_2_vs_1_tables": round(med["pdftotext_1"] / med["ours_2_tables"], 2),
                "ours_inprocess_pps": round(statistics.median(inproc), 1),
                "pdfplumber_pps": round(statistics.median(plumber), 1),
                "ratio_vs_pdfplumber": round(statistics.median(inproc) / statistics.median(plumber), 1)})
    return out


def ocr_cer(pdf_dir: Path, n: int, settings: ExtractSettings) -> dict:
    import img2pdf

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem, page in OCR_PAGES[:n]:
            src = pdf_dir / f"{stem}.pdf"
            if not src.is_file():
                continue
            png = Path(tmp) / f"{stem}-{page}"
            subprocess.run(["pdftoppm", "-r", "200", "-f", str(page), "-l", str(page), "-singlefile", "-png",
                            str(src), str(png)], check=True)
            image_pdf = Path(tmp) / f"{stem}-{page}.pdf"
            image_pdf.write_bytes(img2pdf.convert([str(png) + ".png"]))
            ref = extract.pages(src, ExtractSettings(ocr="none", drop_running_headers=False))[page - 1].text
            t = time.perf_counter()
            got = extract.pages(image_pdf, settings)[0]
            seconds = time.perf_counter() - t
            a, b = re.sub(r"\s", "", got.text), re.sub(r"\s", "", ref)
            rows.append({"page": f"{stem}:{page}", "method": got.method, "chars": len(b),
                         "cer": round(levenshtein(a, b) / max(1, len(b)), 4), "seconds": round(seconds, 1)})
    total = sum(r["chars"] for r in rows)
    return {"pages": len(rows), "cer": round(sum(r["cer"] * r["chars"] for r in rows) / max(1, total), 4),
            "max_cer": max((r["cer"] for r in rows), default=None), "per_page": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdfs", type=Path, default=ROOT.parent / "shared" / "corpora" / "pdfs")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions of each speed run (medians)")
    ap.add_argument("--ocr-pages", type=int, default=len(OCR_PAGES))
    ap.add_argument("--no-ocr", action="store_true", help="skip OCR (fidelity on junk pages and CER)")
    ap.add_argument("--speed-only", action="store_true", help="only the speed figures")
    args = ap.parse_args()
    manifest = args.pdfs / "manifest.jsonl"
    if not manifest.is_file():
        print(json.dumps({"skipped": f"{manifest} not found"}))
        return
    entries = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    text_files = [args.pdfs / e["file"] for e in entries if e["text_layer"]]
    settings = ExtractSettings(ocr="none" if args.no_ocr else "tesseract", use_pdfplumber_tables=False)
    result: dict = {"bench": "extract"}
    if not args.speed_only:
        result["fidelity"] = fidelity(text_files, settings)
    result["speed"] = speed(text_files, args.reps)
    if not args.no_ocr and not args.speed_only:
        result["ocr"] = ocr_cer(args.pdfs, args.ocr_pages, settings)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
