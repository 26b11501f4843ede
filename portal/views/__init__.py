"""The kernel's pages, one module per concern: account, home, calendar."""
