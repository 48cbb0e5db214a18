"""The cluster tier's order: each lane's first slice holds its share of every group."""

from __future__ import annotations

from tests.lanes import share_out


def test_each_lanes_slice_holds_its_share_of_every_group_in_group_order():
    items = [f"{kind}{n}" for n in range(6) for kind in ("rest", "reader", "notebook")]
    group = {"reader": 0, "notebook": 1, "rest": 2}
    ordered = share_out(items, lambda item: group[item.rstrip("0123456789")], lanes=2)

    first, second = ordered[:9], ordered[9:]  # worksteal's first slices: halves
    for lane in (first, second):
        assert [item.rstrip("0123456789") for item in lane] == ["reader"] * 3 + ["notebook"] * 3 + [
            "rest"
        ] * 3
    assert sorted(ordered) == sorted(items)
    assert first[:3] == ["reader0", "reader2", "reader4"]  # the order within a group stays


def test_one_lane_is_the_groups_in_order():
    items = ["c", "a2", "b", "a1"]
    assert share_out(items, lambda item: item[0] != "a", lanes=1) == ["a2", "a1", "c", "b"]
