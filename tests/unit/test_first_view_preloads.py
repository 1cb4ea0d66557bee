"""web/index.html names every module of the gallery's start-up in <link rel="modulepreload">, so
that the browser fetches them all at once instead of discovering them one import at a time.
No build step makes the list: this test reads the import graph of web/js/main.js and fails,
printing the lines to paste, when a module is added or dropped."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
# Static imports only (`import x from "./y.js"`, `import "./y.js"`); dynamic ones load later.
IMPORT = re.compile(
    r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["'](\.{1,2}/[^"']+)["']""", re.M | re.S
)
PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)">')
SCRIPT = re.compile(r'<script type="module"[^>]*\ssrc="([^"]+)"')


def module_graph(entry: Path, root: Path = WEB) -> list[str]:
    """Every module `entry` imports, directly or not, as site paths under `root`, in discovery
    order (`entry` first)."""
    seen: dict[Path, None] = {}
    pending = [entry.resolve()]
    while pending:
        module = pending.pop(0)
        if module in seen:
            continue
        seen[module] = None
        for target in IMPORT.findall(module.read_text(encoding="utf-8")):
            pending.append((module.parent / target).resolve())
    return ["/" + path.relative_to(root).as_posix() for path in seen]


def test_every_start_up_module_is_preloaded_and_nothing_else() -> None:
    page = (WEB / "index.html").read_text(encoding="utf-8")
    # The page's own <script type="module"> tags (main.js, first-view.js) need no preload.
    scripts = set(SCRIPT.findall(page))
    assert "/js/main.js" in scripts
    wanted = [path for path in module_graph(WEB / "js" / "main.js") if path not in scripts]
    listed = PRELOAD.findall(page)
    lines = "\n".join(f'  <link rel="modulepreload" href="{path}">' for path in wanted)
    assert sorted(listed) == sorted(wanted), f"web/index.html should list:\n{lines}"
    assert len(listed) == len(set(listed))


def test_the_graph_reader_follows_both_import_forms(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.js").write_text('import { a } from "./lib/a.js";\nimport "./b.js";\n')
    (tmp_path / "lib" / "a.js").write_text(
        'import {\n  c,\n} from "../c.js";\nexport const a = 1;\n'
    )
    (tmp_path / "b.js").write_text("export {};\n// import nothing from here\n")
    (tmp_path / "c.js").write_text("export const c = 2;\n")
    assert module_graph(tmp_path / "main.js", tmp_path) == [
        "/main.js",
        "/lib/a.js",
        "/b.js",
        "/c.js",
    ]
