"""Who uses the supervision registers (role predicates shared by the pages and the API)."""

from portal.choices import Role

# Informatization projects: the filing department's data staff and head file and carry them; the county bureau
# reads its region's, the bureau's reviewers (who review) and the assessors the city's.
PROJECT_FILERS = (Role.DEPT_STAFF, Role.DEPT_HEAD)
PROJECT_READERS = (*PROJECT_FILERS, Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR)
