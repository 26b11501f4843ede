# --- assessments (R33) ---
from .assessments import (  # noqa: F401
    Assessment,
    AssessmentAdjustment,
    AssessmentIndicator,
    AssessmentObjection,
    AssessmentResult,
    AssessmentRun,
    AssessmentScore,
)
