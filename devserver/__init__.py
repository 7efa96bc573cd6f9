"""Development-only helpers: `make run`'s launcher and the private Redis server it and the tests use.

Nothing in production imports this package (gunicorn, the workers and the Dockerfile never do).
"""
