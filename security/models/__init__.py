"""Chapter 5's registers (R30–R32); Django loads security.models, which imports each model."""

from .incidents import SecurityIncident
from .secrecy import SecrecyReview

__all__ = ["SecrecyReview", "SecurityIncident"]
