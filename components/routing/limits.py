"""ALB quotas the routing layout must stay within (documented AWS limits)."""

ALB_MAX_VALUES_PER_CONDITION = 3
ALB_MAX_MATCH_EVALUATIONS_PER_RULE = 5
ALB_MAX_WILDCARDS_PER_RULE = 5
ALB_MAX_VALUE_LEN = 128
ALB_MAX_HEADER_NAME_LEN = 40
ALB_RULES_PER_ALB = 100  # default quota, adjustable; the default rules do not count
ALB_TARGET_GROUPS_PER_ALB = 100  # fixed
PRIORITY_MIN = 1
PRIORITY_MAX = 50000
