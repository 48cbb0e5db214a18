"""What the GPU node costs per month: always on, or scaled to zero between uses.

"Scale-to-zero" in the blog is the EKS node group's minimum of 0: the Cluster Autoscaler
removes the GPU node once no pod needs it for ``scale-down-unneeded-time`` (10 minutes by
default), and adds one (a few minutes) when a pod is Pending again. The Deployment's
replicas go to 0 by hand (``tutorial_lib.scale``) or by a scheduler; Kubernetes itself
does not scale a Deployment to zero.
"""

from __future__ import annotations

import pandas as pd

from tutorial_lib.domain.prices import G6_XLARGE_PER_HOUR

HOURS_PER_MONTH = 730  # 365 x 24 / 12
#: The Cluster Autoscaler's default scale-down-unneeded-time: billed idle time per session.
IDLE_TAIL_HOURS = 10 / 60
#: A new GPU node is billed from launch: boot, join, driver, image pull (a few minutes).
STARTUP_HOURS = 5 / 60


def monthly(
    hours_per_day: float,
    *,
    days_per_month: int = 22,
    sessions_per_day: int = 1,
    per_hour: float = G6_XLARGE_PER_HOUR,
) -> pd.DataFrame:
    """Always-on against scale-to-zero for a usage pattern; USD per month."""
    billed = days_per_month * (hours_per_day + sessions_per_day * (IDLE_TAIL_HOURS + STARTUP_HOURS))
    billed = min(billed, HOURS_PER_MONTH)
    rows = [
        {"setup": "always on (min size 1)", "billed hours": HOURS_PER_MONTH},
        {"setup": "scale to zero (min size 0)", "billed hours": round(billed, 1)},
    ]
    table = pd.DataFrame(rows)
    table["USD per month"] = (table["billed hours"] * per_hour).round(2)
    table["saving"] = (table["USD per month"].iloc[0] - table["USD per month"]).round(2)
    return table


def workshop(attendees: int, hours: float, *, per_hour: float = G6_XLARGE_PER_HOUR) -> float:
    """USD for one GPU node per attendee on a shared EKS cluster, for one session.

    Each node is billed from launch (``STARTUP_HOURS``) to its removal after the session
    (``IDLE_TAIL_HOURS``): ``python -c "from tutorial_lib.domain import costs;
    print(costs.workshop(20, 3))"`` is the figure in docs/instructors.md.
    """
    return round(attendees * (hours + STARTUP_HOURS + IDLE_TAIL_HOURS) * per_hour, 2)
