"""Benchmark extraction on the shared real PDFs against poppler's pdftotext and pdfplumber; print one JSON line.

Measures (see issue 3):
- fidelity: F1 of the bag of CJK characters vs `pdftotext -enc UTF-8`, per text-layer file where every
  pdftotext page passes the quality gates; on pages where pdftotext gives junk, our method must be `ocr`;
- junk: pages of our output containing `(cid:`, U+FFFD or control characters (must be 0);
- CER of OCR on image-only copies (pdftoppm 200 dpi → img2pdf) of text-layer pages vs the text layer;
- speed: pages/s of a fresh Python process extracting all text-layer files vs `pdftotext` started once per
  file (both counting process start-up), and in-process pages/s vs pdfplumber `extract_text` on a sample.

Usage: .venv/bin/python bench/extract.py [--pdfs DIR] [--ocr-pages N] [--no-ocr]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
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


def f1(ours: str, ref: str) -> float:
    a, b = Counter(CJK.findall(ref)), Counter(CJK.findall(ours))
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
    per_file, junk_pages, ref_junk = {}, [], []
    for path in files:
        ref = pdftotext_pages(path)
        doc = extract.document(Source(path.stem, str(path), "pdf"), settings=settings)
        junk_pages += [f"{path.stem}:{p.n}" for p in doc.pages if BAD.search(p.text)]
        # pdftotext's U+FFFD for formula glyphs does not touch the CJK bag: only garbled pages are left out
        bad_ref = {i + 1 for i, t in enumerate(ref) if extract._gate(t.replace("\ufffd", ""))}
        ref_junk += [{"page": f"{path.stem}:{n}", "our_method": doc.pages[n - 1].method,
                      "our_quality": doc.pages[n - 1].quality, "our_cjk": len(CJK.findall(doc.pages[n - 1].text)),
                      "our_gate": extract._gate(doc.pages[n - 1].text)} for n in sorted(bad_ref)]
        ours = "".join(p.text for p in doc.pages if p.n not in bad_ref)
        per_file[path.stem] = round(f1(ours, "".join(t for i, t in enumerate(ref) if i + 1 not in bad_ref)), 4)
    return {"files": len(per_file), "min_f1": min(per_file.values()), "f1": per_file,
            "below_0.99": sorted(k for k, v in per_file.items() if v < 0.99),
            "pdftotext_junk_pages": ref_junk, "pages_with_cid_fffd_control": junk_pages}


def speed(files: list[Path]) -> dict:
    counts = {}
    t = time.perf_counter()
    for path in files:
        counts[path] = len(pdftotext_pages(path))
    pages = sum(counts.values())
    poppler = time.perf_counter() - t
    code = ("import sys; from pipeline import extract; from pipeline.records import Source; "
            "from pipeline.settings import ExtractSettings; s = ExtractSettings(ocr='none', "
            "use_pdfplumber_tables=bool(int(sys.argv[1]))); "
            "n = sum(len(extract.document(Source(p, p, 'pdf'), settings=s).pages) for p in sys.argv[2:]); print(n)")
    out = {}
    for tables in (0, 1):
        t = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", code, str(tables), *map(str, files)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        ours = time.perf_counter() - t
        assert int(res.stdout.strip()) == pages, (res.stdout, pages)
        out["tables" if tables else "text"] = ours
    # the same in two processes side by side (files split by page count), as the pipeline's workers run it
    halves: list[list[str]] = [[], []]
    sizes = [0, 0]
    for path, n in sorted(counts.items(), key=lambda x: -x[1]):
        k = sizes.index(min(sizes))
        halves[k].append(str(path))
        sizes[k] += n
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code, "0", *h], cwd=ROOT, stdout=subprocess.DEVNULL)
             for h in halves]
    for p in procs:
        p.wait()
    out["two"] = time.perf_counter() - t
    # in-process: our per-page time on everything vs pdfplumber extract_text on every 10th page
    import pdfplumber

    s = ExtractSettings(ocr="none", use_pdfplumber_tables=False)
    t = time.perf_counter()
    for path in files:
        extract.pages(path, s)
    ours_pps = pages / (time.perf_counter() - t)
    sample = 0
    t = time.perf_counter()
    for path in files:
        with pdfplumber.open(str(path)) as pdf:
            for page in pdf.pages[::10]:
                page.extract_text()
                sample += 1
    plumber_pps = sample / (time.perf_counter() - t)
    return {"pages": pages, "pdftotext_pps": round(pages / poppler, 1),
            "ours_process_pps": round(pages / out["text"], 1),
            "ratio_vs_pdftotext": round(poppler / out["text"], 2),
            "ours_process_pps_with_tables": round(pages / out["tables"], 1),
            "ratio_vs_pdftotext_with_tables": round(poppler / out["tables"], 2),
            "ours_2_processes_pps": round(pages / out["two"], 1),
            "ratio_vs_pdftotext_2_processes": round(poppler / out["two"], 2),
            "ours_inprocess_pps": round(ours_pps, 1), "pdfplumber_pps": round(plumber_pps, 1),
            "ratio_vs_pdfplumber": round(ours_pps / plumber_pps, 1)}


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
    ap.add_argument("--ocr-pages", type=int, default=len(OCR_PAGES))
    ap.add_argument("--no-ocr", action="store_true", help="skip OCR (fidelity on junk pages and CER)")
    args = ap.parse_args()
    manifest = args.pdfs / "manifest.jsonl"
    if not manifest.is_file():
        print(json.dumps({"skipped": f"{manifest} not found"}))
        return
    entries = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    text_files = [args.pdfs / e["file"] for e in entries if e["text_layer"]]
    settings = ExtractSettings(ocr="none" if args.no_ocr else "tesseract", use_pdfplumber_tables=False)
    result = {"bench": "extract", "fidelity": fidelity(text_files, settings),
              "fidelity_keeping_running_headers": {
                  k: v for k, v in fidelity(text_files, settings.model_copy(
                      update={"drop_running_headers": False, "ocr": "none"})).items()
                  if k in ("files", "min_f1", "below_0.99")},
              "speed": speed(text_files)}
    if not args.no_ocr:
        result["ocr"] = ocr_cer(args.pdfs, args.ocr_pages, settings)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
