"""The supervision app's tables, one module per domain (Django loads `supervision.models`)."""

# ---- violations, rectification orders, notices of criticism (R35, R36)
from .orders import CriticismNotice, RectificationOrder, RectificationReport, Referral, ReportAttachment
from .projects import InformatizationProject, ProjectResource
from .violations import Violation

__all__ = ["CriticismNotice", "InformatizationProject", "ProjectResource", "RectificationOrder", "RectificationReport",
           "Referral", "ReportAttachment", "Violation"]
