"""Chapter 5's registers (R30–R32); Django loads security.models, which imports each model."""

from .incidents import SecurityIncident
from .leaks import LeakAnomaly, LeakHour, LeakMeasure
from .plans import EmergencyPlan
from .risk import RiskAssessment
from .secrecy import SecrecyReview

__all__ = ["EmergencyPlan", "LeakAnomaly", "LeakHour", "LeakMeasure", "RiskAssessment", "SecrecyReview",
           "SecurityIncident"]
