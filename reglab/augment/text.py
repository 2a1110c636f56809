"""Text augmentation: word dropout, random swap and deletion, WordNet synonyms, back-translation.

The edit operations follow EDA (Wei & Zou, "EDA: Easy Data Augmentation Techniques for
Boosting Performance on Text Classification Tasks", EMNLP 2019); word dropout replaces words by
an unknown-word token (Bowman et al., "Generating Sentences from a Continuous Space", CoNLL
2016); back-translation paraphrases through a pivot language (Sennrich, Haddow & Birch,
ACL 2016), here with Apertium's rule-based engine so it works offline.

Every function takes one string or a list of strings and returns the same kind. Words are
whitespace-separated tokens; an edit rejoins them with single spaces, an unedited text is
returned unchanged. Randomness comes only from ``seed`` (an int or a ``numpy.random.Generator``
that is advanced in place), so a seed reproduces the output exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from reglab.augment._validation import (
    check_bool,
    check_int,
    check_probability,
    check_seed,
    check_str,
)
from reglab.augment._wordnet import load_wordnet
from reglab.augment.translate import ApertiumTranslator, back_translate

__all__ = [
    "word_dropout",
    "random_swap",
    "random_deletion",
    "synonym_replacement",
    "synonyms",
    "back_translate",
    "ApertiumTranslator",
    "load_wordnet",
]

T = TypeVar("T", str, list[str])
Seed = int | np.random.Generator | None

# Function words carry little meaning and many have odd WordNet senses ("a" is vitamin A):
# EDA leaves them alone, so do we.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)

_CORE = re.compile(r"^(\W*)([A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z])(\W*)$")


def _map(texts: T, fn: Callable[[str], str]) -> T:
    if isinstance(texts, str):
        return fn(texts)
    if not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"texts must be a str or a list of str, got {type(texts)}")
    if len(texts) == 0:
        raise ValueError("texts is an empty batch (no strings)")
    return [fn(t) for t in texts]


def _check_p(name: str, p: float) -> float:
    return check_probability(p, name)


#: a million edits scramble any text; 10**12 is a typo that would run for days
MAX_EDITS = 10**6


def _check_count(name: str, n: int) -> int:
    return check_int(n, name, low=0, high=MAX_EDITS)


def _rng(seed: Seed) -> np.random.Generator:
    return np.random.default_rng(check_seed(seed))


def word_dropout(texts: T, p: float = 0.1, *, mask_token: str = "<unk>", seed: Seed = None) -> T:
    """Replace each word independently with probability ``p`` by ``mask_token``.

    Parameters
    ----------
    texts : str or list of str
    p : float
        Masking probability per word.
    mask_token : str
        The replacement (``"<unk>"``, ``"[MASK]"``, ...).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    str or list of str
        Same number of words per text; the masked words are ``mask_token``.
    """
    p, rng = _check_p("p", p), _rng(seed)
    mask_token = check_str(mask_token, "mask_token")

    def one(text: str) -> str:
        words = text.split()
        hit = rng.random(len(words)) < p
        if not hit.any():
            return text
        return " ".join(mask_token if h else w for w, h in zip(words, hit))

    return _map(texts, one)


def random_deletion(texts: T, p: float = 0.1, *, seed: Seed = None) -> T:
    """Delete each word independently with probability ``p``; keep one word if all would go.

    The surviving words keep their order (EDA's RD operation).

    Parameters
    ----------
    texts : str or list of str
    p : float
        Deletion probability per word.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    str or list of str
        An ordered, non-empty subsequence of each text's words (empty texts stay empty).
    """
    p, rng = _check_p("p", p), _rng(seed)

    def one(text: str) -> str:
        words = text.split()
        keep = rng.random(len(words)) >= p
        if keep.all():
            return text
        if not keep.any():
            return words[int(rng.integers(len(words)))]
        return " ".join(w for w, k in zip(words, keep) if k)

    return _map(texts, one)


def random_swap(texts: T, n_swaps: int = 1, *, seed: Seed = None) -> T:
    """Swap the words at two distinct random positions, ``n_swaps`` times (EDA's RS).

    Parameters
    ----------
    texts : str or list of str
    n_swaps : int
        Number of swaps per text.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    str or list of str
        A permutation of each text's words; texts of fewer than two words come back unchanged.
    """
    n_swaps, rng = _check_count("n_swaps", n_swaps), _rng(seed)

    def one(text: str) -> str:
        words = text.split()
        if len(words) < 2 or n_swaps == 0:
            return text
        for _ in range(n_swaps):
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
        return " ".join(words)

    return _map(texts, one)


def synonyms(word: str, *, wordnet: Any = None, multiword: bool = True) -> list[str]:
    """Distinct WordNet synonyms of ``word``: lemma names of its synsets, minus the word itself.

    Lookup is case-insensitive and goes through WordNet's morphology (``"dogs"`` finds the
    synsets of ``"dog"``); multi-word lemmas (``"domestic_dog"``) come back with spaces, or are
    left out when ``multiword`` is false. Sorted, so a seeded choice among them is reproducible.

    Parameters
    ----------
    word : str
    wordnet : nltk WordNet reader, optional
        Defaults to :func:`load_wordnet`.
    multiword : bool

    Returns
    -------
    list of str
    """
    check_str(word, "word")
    multiword = check_bool(multiword, "multiword")
    wn = wordnet if wordnet is not None else load_wordnet()
    if not hasattr(wn, "synsets") or not hasattr(wn, "morphy"):
        raise TypeError(f"wordnet must be an nltk WordNet reader, got {type(wn).__name__}")
    key = word.lower()
    names = {lemma.name() for s in wn.synsets(key) for lemma in s.lemmas()}
    itself = {key, wn.morphy(key) or key}
    out = {n.replace("_", " ") for n in names if multiword or "_" not in n}
    return sorted(n for n in out if n.lower() not in itself)


def synonym_replacement(
    texts: T,
    n: int = 1,
    *,
    seed: Seed = None,
    wordnet: Any = None,
    multiword: bool = True,
    stopwords: frozenset[str] = STOPWORDS,
) -> T:
    """Replace ``n`` distinct random non-stopword words by a random WordNet synonym (EDA's SR).

    A word is eligible when it is alphabetic (surrounding punctuation is kept) and
    :func:`synonyms` lists at least one synonym for it; the synonym is drawn uniformly from
    that list and takes the word's capitalisation. Texts with fewer eligible words have all of
    them replaced.

    Parameters
    ----------
    texts : str or list of str
    n : int
        Number of words to replace per text.
    seed : int or numpy.random.Generator, optional
    wordnet : nltk WordNet reader, optional
        Defaults to :func:`reglab.augment.text.load_wordnet` (Debian's ``wordnet-base``).
    multiword : bool
        Allow multi-word synonyms (``"domestic dog"``).
    stopwords : frozenset of str
        Lower-case words never replaced.

    Returns
    -------
    str or list of str
    """
    n, rng = _check_count("n", n), _rng(seed)
    multiword = check_bool(multiword, "multiword")
    if (
        isinstance(stopwords, str)
        or not hasattr(stopwords, "__iter__")
        or not all(isinstance(w, str) for w in stopwords)
    ):
        raise TypeError(f"stopwords must be a set of str, got {type(stopwords).__name__}")
    wn = wordnet if wordnet is not None else load_wordnet()
    if not hasattr(wn, "synsets") or not hasattr(wn, "morphy"):
        raise TypeError(f"wordnet must be an nltk WordNet reader, got {type(wn).__name__}")

    def one(text: str) -> str:
        words = text.split()
        options: dict[int, tuple[str, list[str], str, str]] = {}
        for i, w in enumerate(words):
            m = _CORE.match(w)
            if m is None or m.group(2).lower() in stopwords:
                continue
            syn = synonyms(m.group(2), wordnet=wn, multiword=multiword)
            if syn:
                options[i] = (m.group(1), syn, m.group(3), m.group(2))
        if not options or n == 0:
            return text
        picked = rng.choice(sorted(options), size=min(n, len(options)), replace=False)
        for i in sorted(int(k) for k in picked):
            pre, syn, post, core = options[i]
            new = syn[int(rng.integers(len(syn)))]
            if core[0].isupper():
                new = new[0].upper() + new[1:]
            words[i] = pre + new + post
        return " ".join(words)

    return _map(texts, one)
