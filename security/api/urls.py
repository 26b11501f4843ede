"""Chapter 5's API under /api/v1/security/ (the audit trail search lives here)."""

urlpatterns: list = []
