"""Back-translation through a pluggable translator, with an offline Apertium implementation.

Back-translation (Sennrich, Haddow & Birch, "Improving Neural Machine Translation Models with
Monolingual Data", ACL 2016) paraphrases a text by translating it to a pivot language and
back. A translator is any ``Callable[[list[str]], list[str]]`` returning one output per input;
:class:`ApertiumTranslator` runs Debian's rule-based Apertium (``apertium-eng-spa``) as one
subprocess per batch, so it needs no model download and no network.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import TypeVar

from reglab.augment._validation import check_real, check_str

__all__ = ["ApertiumTranslator", "back_translate", "installed_pairs"]

T = TypeVar("T", str, list[str])
Translator = Callable[[list[str]], list[str]]

APERTIUM_HINT = "install it with `apt-get install apertium apertium-eng-spa`"
_LANG = re.compile(r"^[a-z]{2,3}(_[A-Za-z]+)?$")


def installed_pairs(executable: str = "apertium") -> tuple[str, ...]:
    """Translation directions Apertium has installed (``apertium -l``), e.g. ``("eng-spa", ...)``.

    Raises
    ------
    FileNotFoundError
        If the ``apertium`` executable is not on the ``PATH``.
    """
    check_str(executable, "executable", allow_empty=False)
    path = shutil.which(executable)
    if path is None:
        raise FileNotFoundError(f"Apertium executable {executable!r} not found: {APERTIUM_HINT}")
    return _list_pairs(path)


@functools.lru_cache(maxsize=8)
def _list_pairs(path: str) -> tuple[str, ...]:
    done = subprocess.run([path, "-l"], capture_output=True, text=True, timeout=30, check=False)
    return tuple(sorted(line.strip() for line in done.stdout.splitlines() if line.strip()))


class ApertiumTranslator:
    """Translate batches of texts with Apertium, e.g. English -> Spanish (``eng-spa``).

    All texts of a call go to one ``apertium`` process, one per line (Apertium keeps line
    breaks), so the output has exactly one string per input. Newlines inside a text become
    spaces; unknown words are passed through without Apertium's ``*`` marks.

    Parameters
    ----------
    source, target : str
        ISO 639 codes as Apertium names its directions (``"eng"``, ``"spa"``).
    executable : str
        Name or path of the ``apertium`` program.
    timeout : float
        Seconds allowed per batch.

    Raises
    ------
    FileNotFoundError
        If Apertium is not installed.
    ValueError
        If the direction ``source-target`` is not installed (the message lists those that are).
    """

    def __init__(
        self,
        source: str = "eng",
        target: str = "spa",
        *,
        executable: str = "apertium",
        timeout: float = 120.0,
    ):
        for name, code in (("source", source), ("target", target)):
            if not isinstance(code, str) or not _LANG.match(code):
                raise ValueError(f"{name} must be a language code such as 'eng', got {code!r}")
        # a day bounds a batch; inf or NaN would hand subprocess an endless (or invalid) wait
        timeout = check_real(timeout, "timeout", low=0.0, high=86400.0, low_open=True)
        pairs = installed_pairs(executable)
        pair = f"{source}-{target}"
        if pair not in pairs:
            a, b = sorted((source.split("_")[0], target.split("_")[0]))
            raise ValueError(
                f"unknown language pair {pair!r}: Apertium has {', '.join(pairs) or 'none'} "
                f"installed; Debian packages a pair as apertium-{a}-{b} "
                f"(`apt-get install apertium-{a}-{b}` if it exists)"
            )
        self.source, self.target = source, target
        self.executable, self.timeout = executable, timeout

    @property
    def pair(self) -> str:
        return f"{self.source}-{self.target}"

    def __repr__(self) -> str:
        return f"ApertiumTranslator({self.source!r}, {self.target!r})"

    def reversed(self) -> ApertiumTranslator:
        """The translator of the opposite direction (``spa-eng`` for ``eng-spa``)."""
        return ApertiumTranslator(
            self.target, self.source, executable=self.executable, timeout=self.timeout
        )

    def __call__(self, texts: list[str]) -> list[str]:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
        texts = list(texts)
        if not texts:
            return []
        lines = [" ".join(t.split()) for t in texts]
        path = shutil.which(self.executable)
        if path is None:
            raise FileNotFoundError(
                f"Apertium executable {self.executable!r} not found: {APERTIUM_HINT}"
            )
        done = subprocess.run(
            [path, "-u", self.pair],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"apertium {self.pair} failed with exit status {done.returncode}: "
                f"{done.stderr.strip()[-500:]}"
            )
        out = done.stdout.split("\n")
        if out and out[-1] == "":
            out.pop()
        if len(out) != len(lines):
            raise RuntimeError(
                f"apertium {self.pair} returned {len(out)} lines for {len(lines)} texts"
            )
        return [o.strip() for o in out]


def _run(translator: Translator, texts: list[str], which: str) -> list[str]:
    out = translator(texts)
    if not isinstance(out, Sequence) or isinstance(out, str) or len(out) != len(texts):
        got = len(out) if isinstance(out, Sequence) else type(out).__name__
        raise ValueError(
            f"{which} translator must return a list with one string per input "
            f"({len(texts)}), got {got}"
        )
    if not all(isinstance(o, str) for o in out):
        raise TypeError(f"{which} translator must return strings")
    return list(out)


def back_translate(texts: T, translator: Translator, back: Translator | None = None) -> T:
    """Paraphrase ``texts`` by translating them with ``translator`` and back with ``back``.

    Parameters
    ----------
    texts : str or list of str
    translator : callable
        ``list[str] -> list[str]``, source to pivot language, one output per input.
    back : callable, optional
        Pivot back to the source language; defaults to ``translator.reversed()`` (as
        :class:`ApertiumTranslator` provides).

    Returns
    -------
    str or list of str
        One paraphrase per input.

    Examples
    --------
    >>> en_es = ApertiumTranslator("eng", "spa")  # doctest: +SKIP
    >>> back_translate(["The dog runs quickly."], en_es)  # doctest: +SKIP
    """
    single = isinstance(texts, str)
    batch = [texts] if single else texts
    if not isinstance(batch, Sequence) or not all(isinstance(t, str) for t in batch):
        raise TypeError(f"texts must be a str or a list of str, got {type(texts)}")
    if len(batch) == 0:
        raise ValueError("texts is an empty batch (no strings)")
    if not callable(translator):
        raise TypeError(f"translator must be callable, got {type(translator)}")
    if back is None:
        if not hasattr(translator, "reversed"):
            raise TypeError(
                "back is required when translator has no reversed() method "
                "(pass the pivot-to-source translator)"
            )
        back = translator.reversed()
    if not callable(back):
        raise TypeError(f"back must be callable, got {type(back)}")
    result = _run(back, _run(translator, list(batch), "forward"), "back")
    return result[0] if single else result
