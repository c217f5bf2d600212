"""The REST API: a thin Starlette layer over the fitness library.

`fitness.api.app.create_app()` builds it; see that module for how it is put together.
"""
