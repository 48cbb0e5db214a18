"""On-demand prices per instance type, in USD per hour: what the costs are computed with.

Kept apart from ``costs`` (which needs pandas) because the local cluster's Karpenter daemon
reads them too.
"""

#: The blog's figure for a g6.xlarge ("~$0.70 pro Stunde"; on demand, region-dependent).
G6_XLARGE_PER_HOUR = 0.70
#: By instance type; a type not listed is left unpriced rather than guessed.
ON_DEMAND = {"g6.xlarge": G6_XLARGE_PER_HOUR}
