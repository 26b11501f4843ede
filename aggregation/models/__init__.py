"""Tables of chapter 3, by domain: the resource pool (pools), ingest jobs, verification cases, themes, quality."""

from .ingest import IngestJob
from .pools import Dataset, Record, RecordHistory
from .quality import QualityReport, StaleNotice
from .themes import ThemeBuildJob, ThemeDatabase, ThemeRow, ThemeSource
from .verification import VerificationCase, VerificationEvidence

__all__ = [
    "Dataset",
    "IngestJob",
    "QualityReport",
    "Record",
    "RecordHistory",
    "StaleNotice",
    "ThemeBuildJob",
    "ThemeDatabase",
    "ThemeRow",
    "ThemeSource",
    "VerificationCase",
    "VerificationEvidence",
]
