"""Backends, the IREE compiler and its disk cache, devices and buffers (mlax.Array),
the eager hook, and exported packages.
"""
