"""Text augmentation: edit invariants, WordNet-only synonyms, Apertium back-translation."""

import shutil
from collections import Counter

import numpy as np
import pytest

from reglab.augment import _wordnet, text, translate

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A happy child reads an interesting book in the big library",
    "Scientists measure the speed of light with great care!",
    "cats",
    "",
]
EDITS = {
    "word_dropout": lambda t, s: text.word_dropout(t, 0.3, seed=s),
    "random_deletion": lambda t, s: text.random_deletion(t, 0.3, seed=s),
    "random_swap": lambda t, s: text.random_swap(t, 2, seed=s),
}
HAS_WORDNET = all((_wordnet.wordnet_dir() / f).is_file() for f in _wordnet.REQUIRED_FILES)
HAS_APERTIUM = shutil.which("apertium") is not None
needs_wordnet = pytest.mark.skipif(not HAS_WORDNET, reason=_wordnet.INSTALL_HINT)
needs_apertium = pytest.mark.skipif(not HAS_APERTIUM, reason=translate.APERTIUM_HINT)


@pytest.fixture(scope="module")
def wn():
    return text.load_wordnet()


@pytest.mark.parametrize("name", sorted(EDITS))
def test_seed_reproduces_and_type_is_kept(name):
    f = EDITS[name]
    assert f(SENTENCES, 7) == f(SENTENCES, 7)
    assert isinstance(f(SENTENCES[0], 0), str)
    out = f(SENTENCES, 7)
    assert isinstance(out, list) and len(out) == len(SENTENCES)
    # A Generator is advanced in place: two calls on one generator draw different words.
    g = np.random.default_rng(0)
    outs = {f(SENTENCES[1], g) for _ in range(20)}
    assert len(outs) > 1


def test_identity_parameters_give_the_text_back():
    odd = ["  spaced   words\there ", *SENTENCES]
    assert text.word_dropout(odd, 0.0, seed=0) == odd
    assert text.random_deletion(odd, 0.0, seed=0) == odd
    assert text.random_swap(odd, 0, seed=0) == odd


def test_word_dropout_masks_only():
    for s in range(10):
        out = text.word_dropout(SENTENCES[1], 0.5, mask_token="[MASK]", seed=s).split()
        orig = SENTENCES[1].split()
        assert len(out) == len(orig)
        assert all(o in (w, "[MASK]") for o, w in zip(out, orig))
    assert set(text.word_dropout(SENTENCES[0], 1.0, seed=0).split()) == {"<unk>"}


def test_random_deletion_keeps_an_ordered_nonempty_subsequence():
    words = SENTENCES[1].split()
    for s in range(20):
        out = text.random_deletion(SENTENCES[1], 0.5, seed=s).split()
        it = iter(words)
        assert out and all(w in it for w in out)  # subsequence, order kept
    assert len(text.random_deletion(SENTENCES[1], 1.0, seed=0).split()) == 1


def test_random_swap_is_a_permutation():
    for s in range(20):
        out = text.random_swap(SENTENCES[0], 3, seed=s)
        assert Counter(out.split()) == Counter(SENTENCES[0].split())
    assert text.random_swap("one", 5, seed=0) == "one"


@needs_wordnet
def test_wordnet_reader_reads_debian_database(wn):
    assert wn.get_version() == "3.0"
    assert wn.synsets("house", pos="n")[0].lexname() == "noun.artifact"
    assert "fast" in text.synonyms("quick", wordnet=wn)
    assert "domestic dog" in text.synonyms("Dogs", wordnet=wn)
    assert all(" " not in s for s in text.synonyms("dog", wordnet=wn, multiword=False))
    assert text.synonyms("xyzzyq", wordnet=wn) == []


@needs_wordnet
@pytest.mark.parametrize("seed", range(5))
def test_synonym_replacement_only_uses_wordnet_synonyms(wn, seed):
    out = text.synonym_replacement(SENTENCES[:3], 3, seed=seed, wordnet=wn, multiword=False)
    for before, after in zip(SENTENCES, out):
        bw, aw = before.split(), after.split()
        assert len(bw) == len(aw)
        changed = [(b, a) for b, a in zip(bw, aw) if b != a]
        assert 1 <= len(changed) <= 3
        for b, a in changed:
            core_b, core_a = b.strip(".!,"), a.strip(".!,")
            assert core_b.lower() not in text.STOPWORDS
            assert core_a.lower() in [s.lower() for s in text.synonyms(core_b, wordnet=wn)]
            # A capitalised word stays capitalised (WordNet's proper nouns keep their capital).
            assert core_a[0].isupper() or not core_b[0].isupper()


@needs_wordnet
def test_single_multiword_replacement_is_a_listed_synonym(wn):
    for seed in range(10):
        after = text.synonym_replacement(SENTENCES[0], 1, seed=seed, wordnet=wn)
        words = SENTENCES[0].split()
        hits = [
            i
            for i, w in enumerate(words)
            for syn in text.synonyms(w.strip("."), wordnet=wn)
            if " ".join(words[:i] + [syn + w[len(w.strip(".")) :]] + words[i + 1 :]) == after
        ]
        assert hits, after


@needs_wordnet
def test_synonym_replacement_reproducible_and_identity(wn):
    a = text.synonym_replacement(SENTENCES, 2, seed=3, wordnet=wn)
    assert a == text.synonym_replacement(SENTENCES, 2, seed=3, wordnet=wn)
    assert text.synonym_replacement(SENTENCES, 0, seed=3, wordnet=wn) == SENTENCES
    assert text.synonym_replacement("the of and", 2, seed=0, wordnet=wn) == "the of and"


def test_missing_wordnet_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv(_wordnet.ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        text.load_wordnet()
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        text.synonym_replacement("a quick test", seed=0)


def test_bad_text_input():
    with pytest.raises(ValueError, match="empty batch"):
        text.word_dropout([], 0.1, seed=0)
    with pytest.raises(TypeError, match="list of str"):
        text.random_swap([1, 2], seed=0)
    with pytest.raises(ValueError, match=r"p must be finite and in \[0.0, 1.0\], got p=1.5"):
        text.random_deletion("a b", 1.5, seed=0)
    with pytest.raises(ValueError, match=r"n_swaps must be an integer in \[0, 1000000\]"):
        text.random_swap("a b", -1, seed=0)


# ----------------------------------------------------------------- back-translation


class Reverser:
    """A toy translator: reverses characters; its own inverse."""

    calls = 0

    def __call__(self, texts):
        Reverser.calls += 1
        return [t[::-1] for t in texts]

    def reversed(self):
        return self


def test_back_translate_with_a_pluggable_translator():
    Reverser.calls = 0
    assert text.back_translate(SENTENCES, Reverser()) == SENTENCES
    assert Reverser.calls == 2  # one batched call per direction
    upper, lower = (lambda ts: [t.upper() for t in ts]), (lambda ts: [t.lower() for t in ts])
    assert text.back_translate("abc", upper, lower) == "abc"


def test_back_translate_rejects_bad_translators():
    with pytest.raises(ValueError, match="one string per input"):
        text.back_translate(["a", "b"], lambda ts: ts[:1], lambda ts: ts)
    with pytest.raises(TypeError, match="back is required"):
        text.back_translate(["a"], lambda ts: ts)
    with pytest.raises(ValueError, match="empty batch"):
        text.back_translate([], Reverser())


@needs_apertium
def test_apertium_back_translation_one_output_per_input(monkeypatch):
    calls = []
    run = translate.subprocess.run
    monkeypatch.setattr(
        translate.subprocess, "run", lambda *a, **k: calls.append(a) or run(*a, **k)
    )
    en_es = text.ApertiumTranslator("eng", "spa")
    texts = [*SENTENCES, "Line one\nline two", "Unknownword xyzzyq here."]
    out = text.back_translate(texts, en_es)
    assert len(out) == len(texts) and all(isinstance(o, str) for o in out)
    assert len([c for c in calls if "-l" not in c[0]]) == 2  # one process per direction
    assert out[SENTENCES.index("")] == ""
    assert "xyzzyq" in out[-1]  # unknown words pass through, unmarked
    spanish = en_es(["I like green apples."])
    assert spanish == ["Me gustan las manzanas verdes."]


@needs_apertium
def test_unknown_language_pair():
    with pytest.raises(ValueError, match="unknown language pair 'eng-xho'.*eng-spa"):
        text.ApertiumTranslator("eng", "xho")
    with pytest.raises(ValueError, match="language code"):
        text.ApertiumTranslator("english", "spa")


def test_missing_apertium_says_how_to_install(monkeypatch):
    monkeypatch.setattr(translate.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="apt-get install apertium apertium-eng-spa"):
        text.ApertiumTranslator("eng", "spa")
