"""Programs with several loops started from the same computed values compile (IREE 3.13's
stream partitioner failed on them with "circular dependency") and give NumPy's values."""

import numpy as np

import mlax
import mlax.numpy as mnp


def test_gcd_and_lcm_of_the_same_computed_arrays_in_one_program():
    a = np.array([0, 1, -1, 2, -2, 3, 7, -7, -127, 127], np.int8)
    b = np.roll(a, 3)
    gcd, lcm = mlax.jit(lambda x, y: (mnp.gcd(mnp.maximum(x, -127), y), mnp.lcm(mnp.maximum(x, -127), y)))(a, b)
    np.testing.assert_array_equal(gcd, np.gcd(a, b))
    np.testing.assert_array_equal(lcm, np.lcm(a, b))


def test_second_derivative_of_solve_compiles_and_matches_finite_differences(x64):
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    t = np.array([[0.1, -0.2, 0.3], [0.0, 0.1, -0.1], [0.2, 0.0, 0.1]])
    b = np.array([1.0, 2.0, 3.0])
    first = lambda m: mlax.jvp(lambda v: mnp.linalg.solve(v, b), (m,), (t,))[1]  # noqa: E731
    second = np.asarray(mlax.jvp(first, (a,), (t,))[1])
    numeric = (np.asarray(first(a + 1e-6 * t)) - np.asarray(first(a - 1e-6 * t))) / 2e-6
    np.testing.assert_allclose(second, numeric, rtol=1e-6)
