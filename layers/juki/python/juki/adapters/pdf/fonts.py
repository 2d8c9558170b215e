"""The Japanese font every PDF embeds: IPAex Gothic (IPAexゴシック), a TrueType file that ships with
the deployment, never fetched at run time.

Why a TrueType file and not one of reportlab's built-in CID fonts (HeiseiKakuGo-W5): those are
only *named* in the PDF and left to the reader's machine, so a reader without Japanese fonts shows
nothing, and what is printed depends on the machine. An embedded (subset) font prints the same
everywhere, and only the glyphs used are in the file.

Where the file is looked for, first found wins:

1. ``JUKI_PDF_FONT``: a path set in the environment (a deployment with another font file);
2. ``fonts/ipaexg.ttf`` next to this module: where the Lambda layer carries it
   (``/opt/python/juki/adapters/pdf/fonts/``), with its licence beside it;
3. ``/opt/fonts/ipaexg.ttf``: a layer that puts fonts at its root;
4. the Debian/Ubuntu package ``fonts-ipaexfont-gothic`` (developers' machines and CI).

The licence is the IPA Font License v1.0: embedding in documents and redistribution of the
unmodified file, with the licence, are allowed (docs/decisions/0012-disclosure-report.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

ENV_PDF_FONT = "JUKI_PDF_FONT"
FONT_NAME = "IPAexGothic"
FONT_FILE = "ipaexg.ttf"
SEARCH_PATH: tuple[Path, ...] = (
    Path(__file__).resolve().parent / "fonts" / FONT_FILE,
    Path("/opt/fonts") / FONT_FILE,
    Path("/usr/share/fonts/opentype/ipaexfont-gothic") / FONT_FILE,
    Path("/usr/share/fonts/truetype/ipaexfont-gothic") / FONT_FILE,
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)

_lock = threading.Lock()


class FontNotFound(RuntimeError):
    """No Japanese font file: a fault of the deployment (the layer or the machine lacks it)."""


def font_path(env: Mapping[str, str] | None = None) -> Path:
    """The font file to embed: the one the environment names, or the first on the search path."""
    env = os.environ if env is None else env
    configured = env.get(ENV_PDF_FONT)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontNotFound(f"{ENV_PDF_FONT} names a file that does not exist")
        return path
    for candidate in SEARCH_PATH:
        if candidate.is_file():
            return candidate
    raise FontNotFound(
        "no Japanese font: install fonts-ipaexfont-gothic, or set "
        f"{ENV_PDF_FONT} to an IPAex Gothic TrueType file"
    )


def japanese_font(env: Mapping[str, str] | None = None) -> str:
    """The registered name of the embedded Japanese font, registering it on first use (the TTF is
    parsed once per process: about 6 MB, read lazily so an import costs nothing)."""
    with _lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(font_path(env))))
    return FONT_NAME
