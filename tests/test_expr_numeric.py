"""derivative/gradient/jacobian/hessian on an Expr: exact AD by default, stencils on the tape on request."""
import numpy as np
import pytest

import fastcalc as fc


def test_derivative_of_expr_is_exact_by_default():
    f = fc.expr("x**2*exp(sin(x))")
    x = np.linspace(-2, 2, 9)
    info = fc.derivative(f, x, full_output=True)
    d = info.df
    exact = np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))
    np.testing.assert_allclose(d, exact, rtol=1e-14, atol=1e-14)
    assert np.all(info.error == 0) and "automatic" in info.message
    d2 = fc.derivative(f, x, 2)
    np.testing.assert_allclose(d2, f.diff("x").diff("x")(x), rtol=1e-13, atol=1e-13)
    d3 = fc.derivative(f, 0.7, 3)
    assert d3 == pytest.approx(float(f.diff("x").diff("x").diff("x")(0.7)), rel=1e-13)


def test_stencils_on_the_tape_when_asked():
    f = fc.expr("x**2")
    assert fc.derivative(f, 3.0, method="forward", h=0.01) == 6.009999999999849
    assert fc.derivative(f, 3.0, method="central") == pytest.approx(6.0, rel=1e-13)


def test_gradient_jacobian_hessian_of_expressions():
    f = fc.expr("x*exp(-(x**2 + y**2))")
    p = np.array([0.3, -0.4])
    g = fc.gradient(f, p)
    sym = np.array([gi(*p) for gi in f.gradient()])
    np.testing.assert_allclose(g, sym, rtol=1e-15)
    np.testing.assert_allclose(fc.gradient(f, p, method="central"), sym, rtol=1e-10)
    H = fc.hessian(f, p)
    np.testing.assert_allclose(H, [[h(*p) for h in row] for row in f.hessian()], rtol=1e-13)
    np.testing.assert_allclose(fc.hessian(f, p, method="central"), H, rtol=1e-7, atol=1e-9)
    F = fc.expr(["x**2*y", "5*x + sin(y)", "x*y*z"], vars=["x", "y", "z"])
    J = fc.jacobian(F, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(J, [[4, 1, 0], [5, np.cos(2), 0], [6, 3, 2]], rtol=1e-15)
    assert fc.jacobian(F, np.ones((4, 3))).shape == (4, 3, 3)
    np.testing.assert_allclose(fc.jacobian(F, np.array([1.0, 2.0, 3.0]), method="central"), J, rtol=1e-9,
                               atol=1e-12)


def test_expression_shape_errors():
    f = fc.expr("x*y")
    with pytest.raises(ValueError, match="one variable"):
        fc.derivative(f, 1.0)
    with pytest.raises(ValueError, match="2 variables"):
        fc.gradient(f, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="jacobian"):
        fc.gradient(fc.expr(["x", "y"]), [1.0, 2.0])
