"""A Gaussian-process regression: an RBF kernel's hyperparameters fitted by gradient descent
on the negative log marginal likelihood (a Cholesky factor and a solve), then the posterior
mean. Written for JAX; run by mlax with `import jax` changed to `import mlax as jax`."""

import jax

jnp = jax.numpy

x = jnp.linspace(-3.0, 3.0, 25)
y = jnp.sin(x) + 0.1 * jnp.cos(7.0 * x)


def kernel(a, b, log_scale, log_length):
    return jnp.exp(2 * log_scale) * jnp.exp(-0.5 * ((a[:, None] - b[None, :]) / jnp.exp(log_length)) ** 2)


def negative_log_likelihood(theta):
    log_scale, log_length, log_noise = theta
    k = kernel(x, x, log_scale, log_length) + (jnp.exp(2 * log_noise) + 1e-6) * jnp.eye(x.shape[0])
    chol = jnp.linalg.cholesky(k)
    alpha = jnp.linalg.solve(k, y)
    return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(chol))) + 0.5 * x.shape[0] * jnp.log(2 * jnp.pi)


theta = jnp.array([0.0, 0.0, -1.0])
value_and_grad = jax.jit(jax.value_and_grad(negative_log_likelihood))
for i in range(60):
    value, grad = value_and_grad(theta)
    theta = theta - 0.02 * grad
    if i % 20 == 0:
        print(f"step {i:2d} nll {float(value):.4f}")
print("theta", " ".join(f"{float(t):.4f}" for t in theta))
k = kernel(x, x, theta[0], theta[1]) + (jnp.exp(2 * theta[2]) + 1e-6) * jnp.eye(x.shape[0])
x_new = jnp.array([-2.5, 0.0, 1.3])
mean = kernel(x_new, x, theta[0], theta[1]) @ jnp.linalg.solve(k, y)
print("posterior mean", " ".join(f"{float(m):.4f}" for m in mean))
