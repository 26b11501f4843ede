# ---- violations, rectification orders, notices of criticism (R35, R36)
from .orders import CriticismNotice, RectificationOrder, RectificationReport, Referral, ReportAttachment
from .violations import Violation

__all__ = ["CriticismNotice", "RectificationOrder", "RectificationReport", "Referral", "ReportAttachment",
           "Violation"]
