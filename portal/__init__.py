"""焦作市大数据平台门户: the platform kernel (organisations, roles, calendar, deadlines, audit, notifications)."""
