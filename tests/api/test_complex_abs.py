"""The derivative of |z| for complex z: d|z| = Re(conj(z) dz) / |z| (JAX's convention for
the gradient of a real function of complex input: derivative = Re(sum(g * dz)))."""

import numpy as np

import mlax
import mlax.numpy as mnp


def test_abs_of_complex_input():
    z = np.array([1 + 2j, 3 - 1j, -0.5j], np.complex64)
    direction = np.array([1j, 1, 2 - 1j], np.complex64)
    _, tangent = mlax.jvp(mnp.abs, (z,), (direction,))
    np.testing.assert_allclose(tangent, np.real(np.conj(z) * direction) / np.abs(z), rtol=1e-6)
    gradient = mlax.grad(lambda z: mnp.sum(mnp.abs(z)))(z)
    np.testing.assert_allclose(gradient, np.conj(z) / np.abs(z), rtol=1e-6)
