"""A two-layer MLP on a dict of parameters, trained with a hand-written Adam under jit.
Written for JAX; run by mlax with `import jax` changed to `import mlax as jax`."""

import jax

jnp = jax.numpy

key = jax.random.PRNGKey(0)
k_x, k_w1, k_w2 = jax.random.split(key, 3)
x = jax.random.normal(k_x, (128, 4))
y = jnp.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]

params = {
    "w1": jax.random.normal(k_w1, (4, 32)) * 0.5, "b1": jnp.zeros(32),
    "w2": jax.random.normal(k_w2, (32, 1)) * 0.2, "b2": jnp.zeros(1),
}


def loss(params, x, y):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    prediction = (hidden @ params["w2"] + params["b2"])[:, 0]
    return jnp.mean((prediction - y) ** 2)


def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": 0}


@jax.jit
def step(params, state, x, y):
    value, grads = jax.value_and_grad(loss)(params, x, y)
    t = state["t"] + 1
    m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, state["v"], grads)
    scale = 0.01 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    params = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + 1e-8), params, m, v)
    return params, {"m": m, "v": v, "t": t}, value


state = adam_init(params)
for i in range(301):
    params, state, value = step(params, state, x, y)
    if i % 100 == 0:
        print(f"step {i:3d} loss {float(value):.5f}")
print(f"final loss {float(loss(params, x, y)):.5f}")
