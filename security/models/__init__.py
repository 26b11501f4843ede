"""Chapter 5's registers (R30–R32); Django loads security.models, which imports each model."""

from .incidents import SecurityIncident

__all__ = ["SecurityIncident"]
