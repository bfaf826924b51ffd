"""The transformations users call: jit, grad/jvp/vjp, vmap, pmap, custom rules, export.

Each traces the function it transforms and emits a transformation op naming it
(mlax.vjp, mlax.vmap, ...); the passes give those ops meaning.
"""
