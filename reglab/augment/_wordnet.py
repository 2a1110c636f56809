"""Read Debian's WordNet 3.0 database (``wordnet-base``) through nltk's WordNet reader.

nltk's :class:`~nltk.corpus.reader.wordnet.WordNetCorpusReader` reads the Princeton database
files directly; it needs two things Debian's package does not give it: a ``lexnames`` file
(the 45 lexicographer file names, fixed by WordNet 3.0, see ``lexnames(5WN)``), which we serve
from memory instead of writing it anywhere, and the data directory on nltk's list of trusted
roots (nltk >= 3.9 refuses to open files outside ``nltk.data.path``).
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path
from typing import Any

DEFAULT_DIR = "/usr/share/wordnet"
ENV_VAR = "REGLAB_WORDNET_DIR"
INSTALL_HINT = (
    "install Debian's WordNet with `apt-get install wordnet-base wordnet-sense-index`, "
    f"or point {ENV_VAR} at a directory holding the WordNet 3.0 database files"
)
REQUIRED_FILES = (
    "index.noun",
    "index.verb",
    "index.adj",
    "index.adv",
    "data.noun",
    "data.verb",
    "data.adj",
    "data.adv",
    "noun.exc",
    "verb.exc",
    "adj.exc",
    "adv.exc",
    "index.sense",
)

# Lexicographer files of WordNet 3.0 in their fixed order: (name, syntactic category number).
_LEXNAMES = (
    [("adj.all", 3), ("adj.pert", 3), ("adv.all", 4)]
    + [
        (f"noun.{n}", 1)
        for n in (
            "Tops act animal artifact attribute body cognition communication event feeling "
            "food group location motive object person phenomenon plant possession process "
            "quantity relation shape state substance time"
        ).split()
    ]
    + [
        (f"verb.{n}", 2)
        for n in (
            "body change cognition communication competition consumption contact creation "
            "emotion motion perception possession social stative weather"
        ).split()
    ]
    + [("adj.ppl", 3)]
)
LEXNAMES_TEXT = "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(_LEXNAMES))


def wordnet_dir(path: str | os.PathLike | None = None) -> Path:
    """The WordNet directory: ``path``, else ``$REGLAB_WORDNET_DIR``, else Debian's location."""
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r} ({type(path).__name__})")
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_DIR)


def load_wordnet(path: str | os.PathLike | None = None) -> Any:
    """Return an nltk WordNet reader over the database in ``path`` (cached per directory).

    Parameters
    ----------
    path : path-like, optional
        Directory with ``index.*``, ``data.*``, ``*.exc`` and ``index.sense``; defaults to
        ``$REGLAB_WORDNET_DIR`` or ``/usr/share/wordnet`` (Debian's ``wordnet-base``).

    Raises
    ------
    FileNotFoundError
        If the directory or one of its files is missing (the message says how to install it).
    ImportError
        If nltk is not installed.
    """
    root = wordnet_dir(path).resolve()
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet database not found in {root} (missing {', '.join(missing[:4])}"
            f"{', ...' if len(missing) > 4 else ''}): {INSTALL_HINT}"
        )
    return _load(str(root))


@functools.lru_cache(maxsize=4)
def _load(root: str) -> Any:
    try:
        import nltk.data
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as err:
        raise ImportError(
            "WordNet synonyms need nltk: `pip install nltk` (or reglab's torch extra)"
        ) from err

    class _DebianWordNet(WordNetCorpusReader):
        def open(self, fileid):
            if fileid == "lexnames":
                return io.StringIO(LEXNAMES_TEXT)
            return super().open(fileid)

        def map_wn(self, version="wordnet"):
            # Only needed to align the Open Multilingual WordNet, which we do not load.
            return None

    if root not in [str(p) for p in nltk.data.path]:
        nltk.data.path.append(root)
    with warnings.catch_warnings():
        # "The multilingual functions are not available": expected without OMW data.
        warnings.simplefilter("ignore", UserWarning)
        return _DebianWordNet(root, None)
