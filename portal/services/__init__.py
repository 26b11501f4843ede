"""Kernel write side: one function per use case (organisations, calendar, deadlines, notifications, tokens)."""
