"""Prices per instance type, in USD per hour: what the costs are computed with.

Kept apart from ``costs`` (which needs pandas) because the local cluster's Karpenter daemon
reads them too.
"""

#: The blog's figure for a g6.xlarge ("~$0.70 pro Stunde"), kept as the blog's. It is below
#: the on-demand price: public price tables list $0.8048 per hour in us-east-1 (one quoted on
#: 2026-09-26); the blog's region, eu-central-1, was not priced here.
G6_XLARGE_PER_HOUR = 0.70
#: By instance type; a type not listed is left unpriced rather than guessed.
ON_DEMAND = {"g6.xlarge": G6_XLARGE_PER_HOUR}
