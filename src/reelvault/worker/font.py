"""A 5x7 bitmap font and a caption box, drawn as rows of luma bytes (pure: no PyAV, no I/O).

Enough to write a prompt on a demo clip so a person recognises it: upper-case letters, digits
and common punctuation; lower case is drawn upper case, accents are dropped (NFKD), anything
else is '?'. A caption is laid out once per clip and blitted into each frame's Y plane.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7
CELL_WIDTH = GLYPH_WIDTH + 1  # one column of spacing
CELL_HEIGHT = GLYPH_HEIGHT + 2  # two rows of leading
INK = 235  # video-range white
PAPER = 16  # video-range black

# Each glyph: seven rows of five columns, '#' inked.
_ROWS = {
    " ": "..... ..... ..... ..... ..... ..... .....",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# ##..# #.#.# #..## #...# #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    ";": "..... .##.. .##.. ..... .##.. ..#.. .#...",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    '"': ".#.#. .#.#. ..... ..... ..... ..... .....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "/": "....# ...#. ...#. ..#.. .#... .#... #....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "%": "##..# ##..# ...#. ..#.. .#... #..## #..##",
    "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    "@": ".###. #...# #.### #.#.# #.### #.... .###.",
    "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
}
GLYPHS: dict[str, tuple[int, ...]] = {
    char: tuple(int(row.replace("#", "1").replace(".", "0"), 2) for row in rows.split())
    for char, rows in _ROWS.items()
}
_ELLIPSIS = "..."


def normalise(text: str) -> str:
    """What the font can draw: accents dropped, upper case, whitespace folded, '?' otherwise."""
    folded = unicodedata.normalize("NFKD", text)
    out = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        upper = char.upper()
        if char.isspace():
            out.append(" ")
        elif len(upper) == 1 and upper in GLYPHS:
            out.append(upper)
        else:
            out.append("?")
    return " ".join("".join(out).split())


def wrap(text: str, columns: int, max_lines: int) -> list[str]:
    """`text` in lines of at most `columns` characters, words kept whole where they fit; past
    `max_lines` the last line ends with '...'. Nothing for no room."""
    if columns <= 0 or max_lines <= 0:
        return []
    lines: list[str] = []
    current = ""
    for word in normalise(text).split(" "):
        while len(word) > columns:  # a word longer than a line is cut
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:columns])
            word = word[columns:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= columns:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1][: max(0, columns - len(_ELLIPSIS))].rstrip()
        lines[-1] = (last + _ELLIPSIS)[:columns]
    return lines


@dataclass(frozen=True, slots=True)
class Caption:
    """A box of `width` x `height` luma bytes whose top-left corner is at (`x`, `y`)."""

    x: int
    y: int
    width: int
    height: int
    rows: tuple[bytes, ...]

    def draw(self, plane: bytearray, line_size: int) -> None:
        """Blit into a Y plane of `line_size` bytes per row (the caption fits: see `caption`)."""
        for r, row in enumerate(self.rows):
            start = (self.y + r) * line_size + self.x
            plane[start : start + self.width] = row


def render(lines: list[str], scale: int, pad: int) -> tuple[int, int, tuple[bytes, ...]]:
    """The lines inked on paper, each pixel `scale` x `scale`, `pad` pixels of paper around."""
    columns = max((len(line) for line in lines), default=0)
    width = columns * CELL_WIDTH * scale - scale + 2 * pad
    height = len(lines) * CELL_HEIGHT * scale - 2 * scale + 2 * pad
    blank = bytes([PAPER]) * width
    rows = [blank] * pad
    for number, line in enumerate(lines):
        for glyph_row in range(CELL_HEIGHT if number < len(lines) - 1 else GLYPH_HEIGHT):
            bits = bytearray([PAPER]) * width
            if glyph_row < GLYPH_HEIGHT:
                for column, char in enumerate(line):
                    mask = GLYPHS.get(char, GLYPHS["?"])[glyph_row]
                    left = pad + column * CELL_WIDTH * scale
                    for bit in range(GLYPH_WIDTH):
                        if mask & (1 << (GLYPH_WIDTH - 1 - bit)):
                            at = left + bit * scale
                            bits[at : at + scale] = bytes([INK]) * scale
            rows.extend([bytes(bits)] * scale)
    rows.extend([blank] * pad)
    return width, height, tuple(rows)


def caption(text: str, frame_width: int, frame_height: int) -> Caption | None:
    """The prompt as a subtitle at the bottom of the frame: about 24 characters a line, at
    most a third of the frame's height, always wholly inside it. None where nothing fits.
    The box's corner and sides are even, so a 4:2:0 chroma box matches it exactly."""
    margin = max(2, min(frame_width, frame_height) // 30) & ~1
    room_width = frame_width - 2 * margin
    scale = max(1, room_width // (24 * CELL_WIDTH))
    pad = 2 * scale
    columns = (room_width - 2 * pad + scale) // (CELL_WIDTH * scale)
    max_lines = (frame_height // 3 - 2 * pad + 2 * scale) // (CELL_HEIGHT * scale)
    lines = wrap(text, columns, max_lines)
    if not lines:
        return None
    width, height, rows = render(lines, scale, pad)
    even_width, even_height = width + (width & 1), height + (height & 1)
    if even_width > room_width or even_height > frame_height - 2 * margin:
        return None
    if (even_width, even_height) != (width, height):
        blank = bytes([PAPER])
        rows = tuple(row + blank * (even_width - width) for row in rows)
        rows += (bytes([PAPER]) * even_width,) * (even_height - height)
    x = ((frame_width - even_width) // 2) & ~1
    y = (frame_height - margin - even_height) & ~1
    return Caption(x, y, even_width, even_height, rows)
