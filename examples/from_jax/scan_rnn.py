"""An Elman RNN over a sequence with lax.scan, its gradient, and a few SGD steps.
Written for JAX; run by mlax with `import jax` changed to `import mlax as jax`."""

import jax

jnp = jax.numpy
lax = jax.lax

key = jax.random.PRNGKey(1)
k_in, k_rec, k_out, k_xs = jax.random.split(key, 4)
params = (jax.random.normal(k_in, (3, 8)) * 0.4, jax.random.normal(k_rec, (8, 8)) * 0.3,
          jax.random.normal(k_out, (8,)) * 0.4)
xs = jax.random.normal(k_xs, (20, 3))
targets = jnp.cumsum(xs[:, 0]) * 0.1


def predictions(params, xs):
    w_in, w_rec, w_out = params

    def cell(h, x):
        h = jnp.tanh(x @ w_in + h @ w_rec)
        return h, h @ w_out
    _, ys = lax.scan(cell, jnp.zeros(8), xs)
    return ys


def loss(params, xs, targets):
    return jnp.mean((predictions(params, xs) - targets) ** 2)


grads = jax.grad(loss)(params, xs, targets)
print("gradient norms", " ".join(f"{float(jnp.linalg.norm(g)):.5f}" for g in grads))
update = jax.jit(lambda p, xs, t: jax.tree_util.tree_map(lambda a, g: a - 0.3 * g, p, jax.grad(loss)(p, xs, t)))
for i in range(50):
    params = update(params, xs, targets)
print(f"loss after 50 steps {float(loss(params, xs, targets)):.5f}")
print("first predictions", " ".join(f"{float(v):.4f}" for v in predictions(params, xs)[:4]))
