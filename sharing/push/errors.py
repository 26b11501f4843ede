"""The stable error codes of a push run, their messages (never the driver's text), and which of them pause."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

ERRORS = {
    "no_grant": gettext_lazy("授权已撤销或不再包含数据库推送，订阅已暂停"),
    "grant_expired": gettext_lazy("授权已过期，订阅已暂停；请重新提交共享申请"),
    "not_found": gettext_lazy("资源已不再发布，订阅已暂停"),
    "method_not_offered": gettext_lazy("资源不再提供数据库推送，订阅已暂停"),
    "connection_refused": gettext_lazy("前置库拒绝连接（地址或端口不可达）"),
    "connection_timeout": gettext_lazy("连接前置库超时"),
    "authentication_failed": gettext_lazy("前置库认证失败（用户名或口令错误）"),
    "target_database_missing": gettext_lazy("前置库中不存在该数据库"),
    "connection_failed": gettext_lazy("无法连接前置库"),
    "target_permission_denied": gettext_lazy("前置库账号无权建表或写入目标表"),
    "target_table_mismatch": gettext_lazy(
        "目标表已存在但结构不符（需 record_id、data、updated_at、deleted、pushed_at 列）"),
    "target_write_failed": gettext_lazy("写入前置库失败"),
    "dsn_invalid": gettext_lazy("前置库连接串无效"),
    "host_not_allowed": gettext_lazy("前置库地址不在平台允许的范围内"),
    "interrupted": gettext_lazy("推送进程中断，下次推送将从上次确认的水位继续"),
    "internal_error": gettext_lazy("推送时发生内部错误"),
}
PAUSING = frozenset({"no_grant", "grant_expired", "not_found", "method_not_offered"})


class PushFailed(Exception):
    """A run stopped with a stable code (the message shown is ERRORS[code], never the driver's text)."""

    def __init__(self, code: str, sqlstate: str = ""):
        self.code, self.sqlstate = code, sqlstate
        super().__init__(code)
