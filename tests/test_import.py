"""`import reglab` is the NumPy-side API only: it must not import torch."""

import subprocess
import sys


def test_import_reglab_does_not_import_torch():
    code = (
        "import sys, reglab, reglab.lab, reglab.lab.cli; "
        "import reglab.lab.claim as c; c.registry(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_taxonomy_has_the_five_kinds_and_parses_names():
    from reglab import Kind, catalog

    assert [k.value for k in Kind][:5] == [
        "parameter",
        "function",
        "perturbation",
        "training",
        "architecture",
    ]
    assert Kind.parse("Parameter") is Kind.PARAMETER
    assert all(t.kind is Kind.PARAMETER for t in catalog("parameter"))
    assert {t.kind for t in catalog()} >= set(list(Kind)[:5])


def test_unknown_kind_names_the_value():
    import pytest

    from reglab import Kind

    with pytest.raises(ValueError, match=r"kind='bogus' is not a kind"):
        Kind.parse("bogus")
