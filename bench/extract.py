"""Benchmark extraction on the shared real PDFs against poppler's pdftotext and pdfplumber; print one JSON line.

Measures (issues 3 and 19), every run a fresh process so that start-up counts on both sides:
- speed, first in the configuration users run (`shipped`: config.yaml's extract section, ruled tables and OCR on
  as shipped), on the text-layer files none of whose pages needs OCR: `jmm extract --json FILE...` once, against
  `pdftotext -layout`, one process per file, one at a time, over the same files (`ratio` = pdftotext's time /
  ours: 1 is as fast as pdftotext). Then the other configurations on the same files: tables and OCR off
  (`off`), tables read by pdfplumber (`pdfplumber_tables`), `--workers 2` (against pdftotext one file at a
  time); then the shipped configuration on every text-layer file, OCR'd pages included (`shipped_all`, once).
  Each timed run is repeated --reps times, interleaved (medians; the machine is shared); `cpu` figures are the
  processes' CPU seconds (user + system), less sensitive to other load than wall time;
- pdfplumber: `extract_text()` on every page of the same files, in a fresh process, once (`pdfplumber_over_ours`
  = its time / our shipped time);
- fidelity, with the shipped settings: F1 of the bag of CJK characters vs `pdftotext -enc UTF-8`, per text-layer
  file, over the pages where pdftotext passes the quality gates. Running-header removal legitimately drops
  repeated characters pdftotext keeps, so `f1` compares our page text with pdftotext's page text minus the CJK
  characters of the margin lines we removed from that page (`read_pdf` reports them); `f1_with_margins` compares
  our text plus those lines with pdftotext's, `f1_raw` our text with pdftotext's (no allowance). On pages where
  pdftotext gives junk our method must be `ocr` or our text must pass the gates;
- junk: pages of our output (fidelity and OCR runs) containing `(cid:`, U+FFFD or control characters (must be 0);
- OCR on image-only copies of real pages: the first two pages of five shared PDFs rendered at 200 dpi grey
  (pdftoppm) and rebuilt with img2pdf, extracted by `jmm extract --json` in one fresh process with the shipped
  settings (RapidOCR) and with `ocr: tesseract`; `error` = 1 − F1 of the bag of CJK characters of a file's two
  pages against the same pages' text layer (`error` pooled over the ten pages, `error_per_file`), `seconds_per_page`
  = the process's wall time / 10 (start-up included);
- `load_average`: the machine's 1-minute load average when the bench starts and ends (and when the OCR runs
  start): with 2 cores, a load of 2 or more means the runs shared the cores with other work.

Usage: .venv/bin/python bench/extract.py [--pdfs DIR] [--reps N] [--no-ocr] [--no-plumber] [--speed-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import extract  # noqa: E402
from pipeline.settings import ExtractSettings, read_settings  # noqa: E402

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
BAD = re.compile(r"\(cid:|\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
JMM = Path(sys.executable).parent / "jmm"
CONFIG = ROOT / "config.yaml"
#: The files whose first two pages are OCR'd from image-only copies (text-layer files of the shared corpus).
OCR_FILES = ["21cdf3b77a55", "339a54f2e2aa", "bf66396868a2", "1c8189b1c36f", "921cb362a88c"]
OCR_PAGES = 2


def f1(b: Counter, a: Counter) -> float:
    """F1 of the bag `b` (ours) against the bag `a` (the reference)."""
    inter = sum((a & b).values())
    if not a and not b:
        return 1.0
    p, r = inter / max(1, sum(b.values())), inter / max(1, sum(a.values()))
    return 2 * p * r / (p + r) if p + r else 0.0


def pdftotext_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False)
    return out.stdout.decode("utf-8", "replace").split("\f")[:-1]


def shipped() -> ExtractSettings:
    return read_settings(CONFIG).extract


def config_with(folder: Path, name: str, **changes: object) -> Path:
    """A config.yaml that is the shipped one with `changes` to its extract section."""
    cfg = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    cfg["extract"].update(changes)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds (of the child processes) of `run()`, and what it returned."""
    c, t = _cpu(), time.perf_counter()
    out = run()
    return time.perf_counter() - t, _cpu() - c, out


def jmm_extract(files: list[Path], config: Path, *extra: str) -> list[dict]:
    """Run `jmm extract --json` once over `files`; its JSON objects (one per file)."""
    out = subprocess.run([str(JMM), "extract", "--json", "--config", str(config), *extra, *map(str, files)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    objects = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or len(objects) != len(files):
        raise SystemExit(f"jmm extract failed ({out.returncode}): {out.stderr[-2000:]}")
    return objects


def pdftotext_layout(files: list[Path]) -> None:
    for f in files:
        subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(f), "-"], capture_output=True, check=False)


_PLUMBER = ("import sys, pdfplumber\n"
            "n = 0\n"
            "for f in sys.argv[1:]:\n"
            "    with pdfplumber.open(f) as pdf:\n"
            "        for page in pdf.pages:\n"
            "            page.extract_text(); n += 1\n"
            "print(n)")


def speed(files: list[Path], all_files: list[Path], reps: int, plumber: bool, tmp: Path) -> dict:
    pages = sum(len(pdftotext_pages(f)) for f in files)
    configs = {"off": config_with(tmp, "off", ocr="none", tables="none"),
               "pdfplumber_tables": config_with(tmp, "plumber", tables="pdfplumber")}
    runs: dict[str, Callable[[], object]] = {
        "pdftotext": lambda: pdftotext_layout(files),
        "shipped": lambda: jmm_extract(files, CONFIG),
        "off": lambda: jmm_extract(files, configs["off"]),
        "pdfplumber_tables": lambda: jmm_extract(files, configs["pdfplumber_tables"]),
        "workers_2": lambda: jmm_extract(files, CONFIG, "--workers", "2")}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(reps):
        for key, run in runs.items():
            w, c, out = timed(run)
            wall[key].append(w)
            cpu[key].append(c)
            if isinstance(out, list):
                assert sum(len(o["pages"]) for o in out) == pages, key
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    out: dict = {"files": len(files), "pages": pages, "reps": reps,
                 "seconds": {k: round(v, 2) for k, v in med.items()},
                 "cpu_seconds": {k: round(v, 2) for k, v in med_cpu.items()},
                 "ratio": {k: round(med["pdftotext"] / v, 3) for k, v in med.items() if k != "pdftotext"},
                 "ratio_cpu": {k: round(med_cpu["pdftotext"] / v, 3) for k, v in med_cpu.items()
                               if k != "pdftotext"}}
    w_all, c_all, objects = timed(lambda: jmm_extract(all_files, CONFIG))
    w_ref, c_ref, _ = timed(lambda: pdftotext_layout(all_files))
    out["shipped_all"] = {"files": len(all_files), "pages": sum(len(o["pages"]) for o in objects),
                          "ocr_pages": sum(p["method"] == "ocr" for o in objects for p in o["pages"]),
                          "seconds": round(w_all, 2), "pdftotext_seconds": round(w_ref, 2),
                          "ratio": round(w_ref / w_all, 3), "ratio_cpu": round(c_ref / c_all, 3)}
    if plumber:
        w, c, done = timed(lambda: subprocess.run([sys.executable, "-c", _PLUMBER, *map(str, files)],
                                                  capture_output=True, text=True, check=True).stdout)
        assert int(str(done).strip()) == pages
        out["pdfplumber"] = {"seconds": round(w, 2), "cpu_seconds": round(c, 2),
                             "pdfplumber_over_ours": round(w / med["shipped"], 1),
                             "pdfplumber_over_ours_cpu": round(c / med_cpu["shipped"], 1)}
    return out


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


def image_copies(pdf_dir: Path, tmp: Path) -> list[tuple[Path, Path]]:
    """(image-only copy, original) of the first OCR_PAGES pages of each of OCR_FILES: pdftoppm at 200 dpi grey,
    then img2pdf."""
    import img2pdf

    out = []
    for stem in OCR_FILES:
        src = pdf_dir / f"{stem}.pdf"
        if not src.is_file():
            continue
        prefix = tmp / stem
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", "1", "-l", str(OCR_PAGES), str(src),
                        str(prefix)], check=True)
        pngs = sorted(tmp.glob(f"{stem}-*.png"))
        image_pdf = tmp / f"{stem}-image.pdf"
        image_pdf.write_bytes(img2pdf.convert([str(p) for p in pngs]))
        out.append((image_pdf, src))
    return out


def ocr_error(copies: list[tuple[Path, Path]], config: Path) -> dict:
    """OCR the image-only copies in one `jmm extract` process; the error against the originals' text layer."""
    seconds, cpu, objects = timed(lambda: jmm_extract([c for c, _src in copies], config))
    got_all, ref_all = Counter(), Counter()
    per_file, methods, junk = {}, Counter(), []
    for (copy, src), obj in zip(copies, objects):
        ref_pages = extract.read_pdf(src, ExtractSettings(ocr="none", drop_running_headers=False)).pages[:OCR_PAGES]
        ref = Counter(CJK.findall("".join(p.text for p in ref_pages)))
        got = Counter(CJK.findall("".join(p["text"] for p in obj["pages"])))
        methods.update(p["method"] for p in obj["pages"])
        junk += [f"{copy.stem}:{p['n']}" for p in obj["pages"] if BAD.search(p["text"])]
        per_file[src.stem] = round(1 - f1(got, ref), 4)
        got_all += got
        ref_all += ref
    pages = sum(len(o["pages"]) for o in objects)
    return {"pages": pages, "methods": dict(methods), "error": round(1 - f1(got_all, ref_all), 4),
            "error_mean_of_files": round(statistics.mean(per_file.values()), 4),
            "error_per_file": per_file, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "seconds_per_page": round(seconds / max(1, pages), 2),
            "cpu_seconds_per_page": round(cpu / max(1, pages), 2),
            "pages_with_cid_fffd_control": junk}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdfs", type=Path, default=ROOT.parent / "shared" / "corpora" / "pdfs")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions of each speed run (medians)")
    ap.add_argument("--no-ocr", action="store_true", help="skip the OCR figures")
    ap.add_argument("--no-plumber", action="store_true", help="skip pdfplumber's run over every page")
    ap.add_argument("--speed-only", action="store_true", help="only the speed figures")
    args = ap.parse_args()
    manifest = args.pdfs / "manifest.jsonl"
    if not manifest.is_file():
        print(json.dumps({"skipped": f"{manifest} not found"}))
        return
    entries = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    text_files = [args.pdfs / e["file"] for e in entries if e["text_layer"]]
    settings = shipped()
    # the files none of whose pages goes to OCR with the shipped settings (a page needing OCR is needs_ocr
    # when OCR is off)
    off = settings.model_copy(update={"ocr": "none"})
    text_only = [f for f in text_files if all(p.quality != "needs_ocr" for p in extract.read_pdf(f, off).pages)]
    load_before = os.getloadavg()[0]  # other work on the machine at the start and the end (1-minute averages)
    result: dict = {"bench": "extract", "config": {k: v for k, v in settings.model_dump(mode="json").items()
                                                   if k in ("ocr", "ocr_dpi", "ocr_workers", "tables")}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        result["speed"] = speed(text_only, text_files, args.reps, not args.no_plumber, tmp)
        if not args.speed_only:
            result["fidelity"] = fidelity(text_files, settings)
        if not args.no_ocr and not args.speed_only:
            copies = image_copies(args.pdfs, tmp)
            result["ocr"] = {"load_average": os.getloadavg()[0], "rapidocr": ocr_error(copies, CONFIG),
                             "tesseract": ocr_error(copies, config_with(tmp, "tesseract", ocr="tesseract"))}
    result["load_average"] = [round(x, 2) for x in (load_before, os.getloadavg()[0])]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
