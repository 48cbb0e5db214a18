"""Bottom layer: the tutorial's arithmetic and data; no cluster, no network.

Sizing, startup figures, the calculator, costs, the NetworkPolicy lesson's flows.
"""
