"""The supervision app's tables, one module per domain (Django loads `supervision.models`)."""

from .projects import InformatizationProject, ProjectResource

__all__ = ["InformatizationProject", "ProjectResource"]
