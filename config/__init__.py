"""Deployment configuration for bus: example environment files (``config/*.env``).

The settings themselves live in the package (:mod:`bus.settings`); ``config.settings`` and
``config.channels`` are deprecated aliases of them, kept for one release.
"""
