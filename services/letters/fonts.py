"""The Unicode font for letters: DejaVu Sans, embedded only where Helvetica (cp1252) falls short.

The standard PDF fonts cannot show "Şahin", "Łukasz" or "Дмитрий". A letter carrying a PIN with a
misspelt name looks like fraud, so text outside cp1252 is drawn in DejaVu Sans (regular and bold),
registered once per process with reportlab; reportlab embeds only the glyphs used (subsets).
Everything cp1252 can show stays in Helvetica: letters look as before and carry no font file.

The fonts are looked up lazily (the first text that needs them) in ``AKKOORD_LETTER_FONT_DIR`` and
then the Debian path (package fonts-dejavu-core). Without them, letters keep simplifying names
("Sahin") as before, and one warning is logged per process.
"""
import logging
import os
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

ENV_DIR = "AKKOORD_LETTER_FONT_DIR"
FALLBACK_DIRS = ("/usr/share/fonts/truetype/dejavu",)  # Debian/Ubuntu fonts-dejavu-core
FILES = {"DejaVuSans": "DejaVuSans.ttf", "DejaVuSans-Bold": "DejaVuSans-Bold.ttf"}
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
# the Unicode stand-in for each standard font the letters use (no monospaced face is shipped: the
# bold face keeps usernames and codes as prominent as Courier-Bold does)
STAND_IN = {"Helvetica": REGULAR, "Helvetica-Bold": BOLD, "Courier-Bold": BOLD, "Courier": REGULAR,
            REGULAR: REGULAR, BOLD: BOLD}

_lock = threading.Lock()
_coverage = None  # None: not looked up yet; frozenset of code points both faces can draw (empty: no font)
generation = 0  # bumped by reset(), so caches keyed on it forget what they derived from the fonts


def font_dirs() -> list[str]:
    configured = os.environ.get(ENV_DIR, "").strip()
    return ([configured] if configured else []) + [d for d in FALLBACK_DIRS if d != configured]


def coverage() -> frozenset:
    """Code points the Unicode font can draw in both weights; empty when no font was found."""
    global _coverage
    if _coverage is None:
        with _lock:
            if _coverage is None:
                _coverage = _load()
    return _coverage


def available() -> bool:
    return bool(coverage())


def _load() -> frozenset:
    dirs = font_dirs()
    for directory in dirs:
        paths = {name: os.path.join(directory, file) for name, file in FILES.items()}
        if not all(os.path.isfile(p) for p in paths.values()):
            continue
        try:
            faces = {name: TTFont(name, path) for name, path in paths.items()}
        except Exception as exc:  # a broken or foreign file: try the next directory
            log.warning("letter font unreadable", extra={"font_dir": directory, "error": type(exc).__name__})
            continue
        for face in faces.values():
            pdfmetrics.registerFont(face)
        glyphs = set.intersection(*(set(f.face.charToGlyph) for f in faces.values()))
        # control characters never reach a letter; keep them out so they cannot pick this font
        return frozenset(c for c in glyphs if c >= 0x20 and not 0x7f <= c < 0xa0)
    log.warning("no Unicode letter font; names outside cp1252 are simplified",
                extra={"font_dirs": dirs, "setting": ENV_DIR, "files": sorted(FILES.values()),
                       "package": "fonts-dejavu-core"})
    return frozenset()


def reset():
    """Forget the lookup (tests change the environment); the next text that needs the font looks again."""
    global _coverage, generation
    with _lock:
        _coverage = None
        generation += 1
