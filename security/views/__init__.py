"""Chapter 5 pages, one module per concern."""
