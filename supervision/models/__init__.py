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
from .projects import InformatizationProject, ProjectResource

__all__ = [
    "Assessment", "AssessmentAdjustment", "AssessmentIndicator", "AssessmentObjection", "AssessmentResult",
    "AssessmentRun", "AssessmentScore", "InformatizationProject", "ProjectResource",
]
