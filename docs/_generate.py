"""Pages generated from the package at build time: the API reference and the lab's claims.

Generating them from ``__all__`` and the claim registry keeps the site complete: a public
name or a claim that is added to the code appears on the site with no edit to the docs, and
one that is removed cannot leave a dead page behind.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
from pathlib import Path

from reglab.taxonomy import Kind

#: The public modules and the sentence that introduces each on its API page.
API_MODULES = {
    "reglab": "The NumPy-side top level: the kinds of regularization and early stopping.",
    "reglab.linear": "Penalised linear models, paths and cross-validation, certified by "
    "duality gaps.",
    "reglab.torch": "The deep-learning regularizers as torch functions and modules.",
    "reglab.torch.audit": "Find the regularization mistakes in a training set-up, before "
    "and while it trains.",
    "reglab.diagnostics": "Measurements: bias-variance, calibration, sharpness, "
    "conditioning, double descent.",
    "reglab.augment": "Data augmentation for images (kornia), text and audio, and the "
    "invariance it buys.",
    "reglab.augment.image": "Batched image augmentation on tensors (kornia).",
    "reglab.augment.text": "Text augmentation: word dropout, swaps, synonyms, "
    "back-translation.",
    "reglab.augment.audio": "Audio augmentation: time stretch, pitch shift, noise, gain.",
    "reglab.lab": "The lab's Python API: claims, the runner and the results store.",
    "reglab.lab.protocol": "Frozen protocols of the lab's empirical claims.",
    "reglab.lab.stats": "Effect sizes, confidence intervals and verdict rules of the lab.",
}


def public_names(module_name: str) -> list[str]:
    """The public names of a module: its ``__all__`` (submodules excluded), or, for a module
    without one, the public classes and functions it defines."""
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:  # the classes and functions the module itself defines
        exported = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module_name
        ]
    names = []
    for name in exported:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if inspect.ismodule(obj) or _is_type_alias(obj):
            continue
        names.append(name)
    return sorted(set(names), key=str.lower)


def _is_type_alias(obj) -> bool:
    """A typing alias (``Params = dict[str, Tensor]``, a ``Literal``): autodoc cannot document
    it as an object; the functions that use it show it in their signatures."""
    import types
    import typing

    return isinstance(obj, types.GenericAlias) or type(obj).__module__ == typing.__name__


def _write_if_changed(path: Path, text: str) -> None:
    # rewriting an unchanged file would make Sphinx rebuild every page that includes it
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_api_pages(folder: Path) -> None:
    """One page per public module, an autosummary table of every name in its ``__all__``."""
    # start from nothing, so a module or name removed from the API leaves no page behind
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    index = [
        ".. _api:",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of reglab, module by module (each module's ``__all__``).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    # a name re-exported by a package is documented once, in the most specific module
    # that exports it (reglab.augment.Pipeline lives on the reglab.augment.image page)
    owner: dict[int, str] = {}
    for module_name in sorted(API_MODULES, key=len):
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            owner[id(getattr(module, name))] = module_name
    for module_name, blurb in API_MODULES.items():
        module = importlib.import_module(module_name)
        names = [n for n in public_names(module_name) if owner[id(getattr(module, n))] == module_name]
        index.append(f"   {module_name}")
        lines = [
            module_name,
            "=" * len(module_name),
            "",
            f".. automodule:: {module_name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {module_name}",
            "",
            blurb,
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :nosignatures:",
            "",
        ]
        lines += [f"   {name}" for name in names]
        _write_if_changed(folder / f"{module_name}.rst", "\n".join(lines) + "\n")
    _write_if_changed(folder / "index.rst", "\n".join(index) + "\n")


def rst_escape(text: str) -> str:
    """Plain text made literal in reStructuredText (a claim's statement may hold ``|w|``,
    ``*`` or a trailing underscore, which rst would read as markup)."""
    for char in "\\*`|_":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def _claim_block(claim) -> list[str]:
    title = f"``{claim.id}``"
    lines = [f".. _claim-{claim.id}:", "", title, "^" * len(title), ""]
    lines += [f"*{rst_escape(claim.statement)}*", ""]
    lines += [f"Deep dive section: {rst_escape(claim.section or 'n/a')}.", ""]
    kind = getattr(claim, "result_kind", None)
    if kind:
        lines += [f"Result kind: **{kind}**.", ""]
    protocol = getattr(claim, "protocol", None)
    if protocol is not None:
        lines += [
            f"Protocol {protocol.id()}: primary metric ``{protocol.metric}``; effect: "
            f"{rst_escape(protocol.effect)}; smallest effect of interest "
            f"{protocol.smallest_effect:g} ({protocol.direction}); analysis: "
            f"{rst_escape(protocol.analysis)}; {protocol.seeds} seeds.",
            "",
        ]
    lines += [f"Run it: ``reglab run {claim.id}``; read it: ``reglab show {claim.id}``.", ""]
    return lines


def write_claim_pages(folder: Path) -> None:
    """``claims_<kind>.rst``: the registered claims of each kind, each with a label
    ``claim-<id>`` (included once, by the lab page); ``links_<kind>.rst``: a list of links
    to them (included by the guide pages)."""
    from reglab.lab import registry

    folder.mkdir(exist_ok=True)
    claims = registry()
    for kind in Kind:
        of_kind = [c for c in claims.values() if c.kind == kind]
        lines: list[str] = []
        if not of_kind:
            lines = ["No claim of this kind yet.", ""]
        for claim in of_kind:
            lines += _claim_block(claim)
        _write_if_changed(folder / f"claims_{kind.value}.rst", "\n".join(lines) + "\n")
        links = [f"- :ref:`claim-{c.id}`: {_first_sentence(c.statement)}" for c in of_kind]
        links = links or ["No claim of this kind yet."]
        links.append("")
        links.append("Every claim with its protocol: :doc:`/lab`.")
        _write_if_changed(folder / f"links_{kind.value}.rst", "\n".join(links) + "\n")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return rst_escape(text if end < 0 else text[: end + 1])


def saved_figure_scraper(block, block_vars, gallery_conf):
    """sphinx-gallery image scraper for figures that an example *saves* to
    ``$REGLAB_EXAMPLES_OUT`` (the examples close their figures after saving them)."""
    import os

    from sphinx_gallery.scrapers import figure_rst

    folder = Path(os.environ["REGLAB_EXAMPLES_OUT"])
    seen = gallery_conf.setdefault("_reglab_seen_figures", set())
    new = sorted(p for p in folder.glob("*.png") if p not in seen)
    paths = []
    for png, target in zip(new, block_vars["image_path_iterator"], strict=False):
        seen.add(png)
        shutil.copyfile(png, target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
