"""Bad input to the lab's Python API is a ValueError/TypeError naming the argument, never an
AttributeError from deep inside, a NaN, or a store created by mistake."""

from __future__ import annotations

import pytest

from reglab.lab import ResultStore, Rows, get_claim, plan, run_claims
from reglab.lab.claim import UnknownClaimError


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda tmp: ResultStore(1), TypeError, "path must be a file path"),
        (lambda tmp: ResultStore(""), ValueError, "path='' is empty"),
        (lambda tmp: ResultStore(tmp / "s.sqlite", create=None), TypeError, "create must be"),
        (lambda tmp: ResultStore(tmp / "s.sqlite", readonly="no"), TypeError, "readonly must be"),
        (lambda tmp: Rows("abc"), TypeError, "rows must be an iterable of RunRow"),
        (lambda tmp: Rows([1, 2]), TypeError, "rows must hold RunRow"),
        (lambda tmp: Rows([]).mean("x"), ValueError, "over no rows"),
        (lambda tmp: get_claim(1), TypeError, "claim_id must be a string"),
        (lambda tmp: get_claim("no-such-claim"), ValueError, "unknown claim id 'no-such-claim'"),
        (lambda tmp: plan("l2-conditioning"), TypeError, "claims must be an iterable"),
        (lambda tmp: plan([object()]), TypeError, "claims must hold Claim objects"),
        (
            lambda tmp: run_claims("l2-conditioning", store=ResultStore(tmp / "s.sqlite")),
            TypeError,
            "claim_ids must be a list",
        ),  # fmt: skip
        (lambda tmp: run_claims(["l2-conditioning"], store=str(tmp)), TypeError, "store must be"),
        (
            lambda tmp: run_claims(
                ["l2-conditioning"], store=ResultStore(tmp / "s.sqlite"), smoke="yes"
            ),
            TypeError,
            "smoke must be True or False",
        ),
        (
            lambda tmp: run_claims(
                ["l2-conditioning"], store=ResultStore(tmp / "s.sqlite"), on_start="x"
            ),
            TypeError,
            "on_start must be callable",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_named(call, error, match, tmp_path):
    with pytest.raises(error, match=match):
        call(tmp_path)


@pytest.mark.parametrize("kwargs", [{"create": None}, {"readonly": 2}])
def test_a_refused_store_argument_creates_nothing(kwargs, tmp_path):
    with pytest.raises(TypeError):
        ResultStore(tmp_path / "new" / "s.sqlite", **kwargs)
    assert not (tmp_path / "new").exists()


def test_unknown_claim_is_both_a_key_error_and_a_value_error():
    with pytest.raises(UnknownClaimError) as info:
        get_claim("l2-conditionning")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert "Did you mean: l2-conditioning" in str(info.value)
