"""The assessment's indicator registry (R33): each indicator is one function computing, for ALL the assessed
departments at once (set-based: one SQL statement, GROUP BY department — never a query per department), the figure
of each department and the cases behind it.

Adding an indicator is one function and one registration:

    @register(key="rectification_on_time", name=_("整改按期完成率"), block=IndicatorBlock.SECURITY, weight=10,
              evidence_type="supervision.rectificationorder", rule=_("按期完成的整改 ÷ 年度内到期的整改"))
    def rectification_on_time(period: Period, department_ids: list[int]) -> dict[int, Figure]:
        ...  # one SQL statement

Points (indicators/base.py `points`): a rate indicator earns weight × numerator ÷ denominator (full weight when the
department had nothing to count: 无应考事项); a deduction indicator earns weight − its deductions, not below 0, and
may veto (一票否决: the department is graded 不合格 whatever its total).

The supervision registers feed it too (indicators/supervision.py): rectification orders accepted on time, completed
informatization projects whose resources entered the catalog.
"""

from . import collection, security, sharing, supervision  # noqa: F401  (the registrations)
from .base import REGISTRY, Figure, Indicator, Period, default_set, get, points, register  # noqa: F401
