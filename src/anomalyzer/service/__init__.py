"""The HTTP service: ``anomalyzer serve`` (FastAPI + uvicorn) over a model registry.

``create_app(settings)`` builds the app; :func:`~anomalyzer.service.server.serve`
runs it. Needs the ``service`` extra: ``pip install 'anomalyzer[service]'``.
"""

from anomalyzer.service.app import create_app
from anomalyzer.service.settings import Settings

__all__ = ["Settings", "create_app"]
