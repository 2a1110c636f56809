"""Sphinx configuration of reglab's documentation site.

Built with ``make docs`` (warnings are errors). The API reference and the list of lab claims
are generated here from the package itself (every name in each public module's ``__all__``,
every registered claim), so a new public name or claim appears without editing the docs.
The gallery is built by sphinx-gallery from ``examples/plot_*.py``, executed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))
sys.path.insert(0, str(ROOT))

import _generate  # noqa: E402

import reglab  # noqa: E402

project = "reglab"
author = "the reglab developers"
copyright = "2026, the reglab developers"
release = version = reglab.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
templates_path = ["_templates"]

html_theme = "pydata_sphinx_theme"
html_title = f"reglab {version}"
# MathJax from the django-static-mathjax wheel, copied next to the pages: the default
# mathjax_path is a CDN, and the site must make no network request
_MATHJAX = DOCS / "_build" / "mathjax_static"
if not (_MATHJAX / "mathjax" / "es5" / "tex-chtml.js").exists():
    import mathjax as _mathjax_package

    shutil.copytree(
        Path(_mathjax_package.__file__).parent / "static" / "mathjax" / "es5",
        _MATHJAX / "mathjax" / "es5",
        dirs_exist_ok=True,
    )
html_static_path = ["_static", str(_MATHJAX)]
mathjax_path = "mathjax/es5/tex-chtml.js"
html_css_files = ["reglab.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    # no network at build or view time: no analytics, no external icons
    "icon_links": [],
}

# an explicit colour mode: without one the theme's script logs a console error on a page
# opened from file:// (nothing stored yet)
html_context = {"default_mode": "light"}

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
# intersphinx needs the network; the site is built offline
intersphinx_mapping: dict[str, tuple[str, None]] = {}
myst_heading_anchors = 3
# every reference to reglab itself must resolve; references into torch, scikit-learn and
# NumPy cannot (no intersphinx without a network) and are rendered as code
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!reglab\b).*"),
    # private bases and helpers, and submodules documented through their package
    (r"py:.*", r".*\._.*"),
    (r"py:mod", r"reglab\.\w+\.\w+.*"),
]


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn adds set_{fit,score,...}_request to every estimator for metadata routing;
    # they are scikit-learn's API, documented there, not reglab's
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
suppress_warnings = ["config.cache", "myst.header", "myst.xref_missing", "autosummary.import_cycle"]

# the examples write their figures to $REGLAB_EXAMPLES_OUT; the scraper below puts the files
# written by each code block under the block, so the scripts stay runnable on their own
_FIGURES = DOCS / "_build" / "example_figures"
if _FIGURES.exists():
    shutil.rmtree(_FIGURES)
_FIGURES.mkdir(parents=True)
os.environ["REGLAB_EXAMPLES_OUT"] = str(_FIGURES)
os.environ.setdefault("MPLBACKEND", "Agg")

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "image_scrapers": (_generate.saved_figure_scraper,),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "show_memory": False,
    "matplotlib_animations": False,
    "write_computation_times": True,
}

_generate.write_api_pages(DOCS / "api")
_generate.write_claim_pages(DOCS / "_generated")
