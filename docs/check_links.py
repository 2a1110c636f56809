"""Check every internal link of the built site, offline.

Every ``href``/``src`` in the HTML under the build folder that points inside the site must
name an existing file and, when it has a ``#fragment``, an element with that id in the target
page. External links (``http(s):``, ``mailto:``) are listed but not fetched: the site is
checked without a network. Exits 1 and lists each broken link with the page it is on.

Usage: ``python docs/check_links.py docs/_build/html``
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif name in ("href", "src"):
                self.links.append(value)


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def broken_links(root: Path) -> tuple[list[str], int, int]:
    """(broken link descriptions, internal links checked, external links skipped)."""
    cache: dict[Path, _Page] = {}
    broken, checked, external = [], 0, 0
    for page_path in sorted(root.rglob("*.html")):
        if page_path.relative_to(root).parts[0] in ("_static", "_sources"):
            continue  # the theme's own template fragments, not pages of the site
        for link in _parse(page_path, cache).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                external += parts.scheme not in ("data", "javascript")
                continue
            checked += 1
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path))
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page_path.relative_to(root)}: {link} (no file)")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    broken.append(f"{page_path.relative_to(root)}: {link} (no #{parts.fragment})")
    return broken, checked, external


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    root = Path(argv[1])
    if not (root / "index.html").exists():
        print(f"{root} has no index.html: build the site first (make docs)")
        return 2
    broken, checked, external = broken_links(root)
    for line in broken:
        print("broken:", line)
    print(
        f"{checked} internal links checked, {len(broken)} broken; {external} external not fetched"
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
