"""One family of results: attributes and mapping access, success/status/message, a readable
repr, immutable; full_output typed with overloads; the old DerivativeInfo kept one release."""
import dataclasses
import sys
import typing

import numpy as np
import pytest

import fastcalc as fc


def test_derivative_result_fields_and_mapping():
    r = fc.derivative(np.sin, [0.5, 1.0], full_output=True)
    assert isinstance(r, fc.DerivativeResult) and isinstance(r, fc.Result)
    assert list(r) == ["df", "error", "h", "nfev", "status", "success", "message"]
    assert r["df"] is r.df and dict(r)["message"] == "ok" and r.success.dtype == bool
    np.testing.assert_allclose(r.df, np.cos([0.5, 1.0]), rtol=1e-12)
    assert "DerivativeResult(" in repr(r) and "df:" in repr(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.df = 0
    one = fc.derivative(np.sin, 0.5, full_output=True)
    assert isinstance(one.df, float) and one.success is True and isinstance(one.status, int)
    fixed = fc.derivative(np.sin, 0.5, h=1e-3, full_output=True)
    assert np.isnan(fixed.error) and fixed.success  # a fixed step has no estimate
    exact = fc.derivative(fc.expr("sin(x)"), 0.5, full_output=True)
    assert exact.error == 0 and exact.success and exact.message.startswith("exact")


def test_gradient_and_hessian_results_have_the_shapes_of_their_values():
    r = fc.gradient(lambda x: x[0] ** 2 + x[1], [1.0, 2.0], full_output=True)
    assert r.df.shape == r.error.shape == r.status.shape == r.success.shape == (2,)
    r = fc.hessian(lambda x: x[0] ** 2 * x[1], [[1.0, 2.0], [3.0, 4.0]], full_output=True)
    assert r.df.shape == r.error.shape == (2, 2, 2) and r.success.all()


def test_a_failed_estimate_says_so_in_status_success_and_message():
    r = fc.derivative(lambda x: np.where(x > 0.9, np.nan, x), [0.5, 1.0], full_output=True)
    assert r.success.tolist() == [True, False] and r.status[0] == 0 and r.status[1] != 0
    assert r.message.startswith("1 of 2 value(s) cannot be trusted") and "not finite" in r.message


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.get_overloads")
def test_full_output_is_typed_with_overloads():
    for fn in (fc.derivative, fc.gradient, fc.jacobian, fc.hessian):
        hints = [typing.get_type_hints(o) for o in typing.get_overloads(fn)]
        returns = {h["return"] for h in hints}
        assert fc.DerivativeResult in returns and len(returns) == 2


def test_derivative_info_is_the_old_name_for_one_release():
    with pytest.warns(DeprecationWarning, match="DerivativeResult"):
        assert fc.DerivativeInfo is fc.DerivativeResult
    with pytest.warns(DeprecationWarning):
        from fastcalc.differentiate import DerivativeInfo  # noqa: F401


def test_every_result_derives_from_result():
    from fastcalc import results
    for cls in (results.DerivativeResult, results.DescentResult, results.FitResult, results.CriticalPoint):
        assert issubclass(cls, fc.Result) and dataclasses.is_dataclass(cls)
    r = fc.fit(fc.expr("a*x"), [1.0, 2.0], [2.0, 4.0], ["a"])
    assert r["params"] == {"a": pytest.approx(2.0)} and r.success
