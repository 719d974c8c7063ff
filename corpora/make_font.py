"""Make the CJK font the report embeds: a subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1), renamed
JMM Sans SC, written to pipeline/fonts/JMMSansSC-Regular.otf with the licence beside it.

Usage: ``python corpora/make_font.py [--source NotoSansCJK-Regular.ttc]`` (default: Debian's fonts-noto-cjk,
/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc, face "Noto Sans CJK SC").

It keeps: ASCII and Latin-1, general punctuation, arrows, geometric shapes, enclosed and number forms, CJK symbols
and punctuation, full-width forms, the 6,763 hanzi of GB 2312, and every character of the project's lexicons
(corpora/lexicons/*.csv: rare characters of place names) and of its sample corpus. A report subsets this font
again to the characters it uses (pipeline/report.py), so the font here only bounds what a report can show; a
character outside it falls back to the reader's fonts.

The subset is a Modified Version under the OFL: it is renamed (the Reserved Font Name of Noto Sans CJK is
"Source"; "Noto" is not reserved, but a distinct name avoids confusion with the full font) and carries the
licence. The output is byte-identical for the same source font and fontTools version.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = "Noto Sans CJK SC"
OUT = ROOT / "pipeline" / "fonts" / "JMMSansSC-Regular.otf"
FAMILY = "JMM Sans SC"
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x218F), (0x2190, 0x21FF), (0x2460, 0x24FF),
          (0x2500, 0x25FF), (0x3000, 0x303F), (0x3200, 0x32FF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF)]


def gb2312_hanzi() -> set[int]:
    """The 6,763 hanzi of GB 2312 (rows 16-87)."""
    out = set()
    for row in range(0xB0, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes([row, cell]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return out


def project_characters() -> set[int]:
    """Every character of the lexicons and of the sample corpus's gold file."""
    chars: set[int] = set()
    for f in sorted((ROOT / "corpora" / "lexicons").rglob("*.csv")):
        chars.update(map(ord, f.read_text(encoding="utf-8")))
    gold = ROOT / "corpora" / "sample" / "gold.jsonl"
    if gold.is_file():
        chars.update(map(ord, json.dumps([json.loads(x) for x in gold.read_text("utf-8").splitlines()],
                                         ensure_ascii=False)))
    return {c for c in chars if c >= 0x20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    font = next(f for f in TTCollection(str(args.source)).fonts if f["name"].getDebugName(4) == FACE)
    unicodes = set(gb2312_hanzi()) | project_characters()
    for a, b in RANGES:
        unicodes.update(range(a, b + 1))
    options = subset.Options()
    options.layout_features = ["kern", "palt"]  # horizontal text only: no vertical or locale variants
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.recalc_timestamp = False
    sub = subset.Subsetter(options)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    name = font["name"]
    for rec in name.names:  # rename the family (a Modified Version under the OFL)
        if rec.nameID in (1, 3, 4, 6, 16, 17, 18):
            text = rec.toUnicode().replace("Noto Sans CJK SC", FAMILY).replace("NotoSansCJKsc", "JMMSansSC")
            rec.string = text
    font.recalcTimestamp = False  # keep the source font's dates: the same bytes on every run
    args.out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(args.out))
    print(f"{args.out}: {len(font.getGlyphOrder())} glyphs, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
