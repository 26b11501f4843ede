"""The supervision app's tables, one module per domain (Django loads `supervision.models`)."""

from .assessments import (
    Assessment,
    AssessmentAdjustment,
    AssessmentIndicator,
    AssessmentObjection,
    AssessmentResult,
    AssessmentRun,
    AssessmentScore,
)
from .orders import CriticismNotice, RectificationOrder, RectificationReport, Referral, ReportAttachment
from .projects import InformatizationProject, ProjectResource
from .violations import Violation

__all__ = [
    "Assessment", "AssessmentAdjustment", "AssessmentIndicator", "AssessmentObjection", "AssessmentResult",
    "AssessmentRun", "AssessmentScore", "CriticismNotice", "InformatizationProject", "ProjectResource",
    "RectificationOrder", "RectificationReport", "Referral", "ReportAttachment", "Violation",
]
