"""Per-example gradients of a logistic regression with vmap(grad), their norms, and clipped
averages (the core of DP-SGD). Written for JAX; run by mlax with `import jax` changed to
`import mlax as jax`."""

import jax

jnp = jax.numpy

key = jax.random.PRNGKey(2)
k_x, k_w = jax.random.split(key)
x = jax.random.normal(k_x, (16, 5))
labels = (x[:, 0] - x[:, 3] > 0).astype(jnp.float32)
w = jax.random.normal(k_w, (5,)) * 0.1


def example_loss(w, xi, yi):
    logit = xi @ w
    return jax.nn.softplus(logit) - yi * logit  # the logistic loss, stable for large logits


per_example = jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0))(w, x, labels)
norms = jnp.linalg.norm(per_example, axis=1)
clipped = per_example / jnp.maximum(1.0, norms / 0.5)[:, None]
print("norms", " ".join(f"{float(n):.4f}" for n in norms[:6]))
print("clipped mean", " ".join(f"{float(g):.5f}" for g in clipped.mean(axis=0)))
full = jax.grad(lambda w: jnp.mean(jax.vmap(example_loss, in_axes=(None, 0, 0))(w, x, labels)))(w)
print("mean gradient matches", bool(jnp.allclose(full, per_example.mean(axis=0), atol=1e-6)))
