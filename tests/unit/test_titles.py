"""Titles and places as staff read them (triage.core.hotspots.titles)."""

from __future__ import annotations

from triage.core.hotspots.titles import clean_places, hotspot_title, is_raw_id, ticket_title


def test_untitled_ticket_takes_the_first_clause_of_its_text() -> None:
    """A phone ticket without a title is titled by its complaint, not by the lead-in."""
    body = "来电人反映：丽发新城小区旁边新建了一个搅拌站，日夜施工，噪音扰民。"
    assert ticket_title(None, body) == "丽发新城小区旁边新建了一个搅拌站"
    bus = "市民来电称，25路公交车司机开车时使用手机。"
    assert ticket_title("", bus) == "25路公交车司机开车时使用手机"
    web = "在政府网站留言称，某小区电梯一个月坏了四次。"
    assert ticket_title(None, web) == "某小区电梯一个月坏了四次"
    app = "通过12345微信小程序留言：高明区一家加油站夜间施工。"
    assert ticket_title(None, app) == "高明区一家加油站夜间施工"


def test_short_first_clause_takes_the_next_one_and_long_ones_are_cut() -> None:
    """A greeting is no title; a long clause ends in an ellipsis within the limit."""
    assert ticket_title(None, "您好，我想反映路灯不亮的问题") == "您好，我想反映路灯不亮的问题"
    long = ticket_title(None, "桂" * 80)
    assert len(long) == 24 and long.endswith("…")
    assert ticket_title("  ", "  ") == "（无标题）"


def test_own_title_is_kept_unless_it_is_an_id() -> None:
    """A real title stays; an id in the title field is replaced by the text's first clause."""
    assert ticket_title("投诉物业乱收费", "正文") == "投诉物业乱收费"
    assert ticket_title("FS-20261116-000307", "路灯不亮已经三天了。") == "路灯不亮已经三天了"
    assert is_raw_id("hs-84e6d2da91345012") and is_raw_id("FS-20261116-000307")
    assert not is_raw_id("丽发新城搅拌站")


def test_untitled_hot_spot_is_titled_from_its_members() -> None:
    """A hot spot without a title takes its most representative member's title."""
    members = [
        (None, "来电反映：丽发新城小区附近搅拌站噪音扰民，晚上睡不着。"),
        (None, "丽发新城小区旁边搅拌站噪音很大。"),
        ("丽发新城搅拌站夜间施工噪音", "正文"),
    ]
    title = hotspot_title("hs-84e6d2da91345012", members)
    assert "丽发新城" in title and not is_raw_id(title)
    assert hotspot_title("", []) == "（未命名热点）"
    assert hotspot_title("桂花路路灯不亮", members) == "桂花路路灯不亮"


def test_places_lose_doubles_fragments_and_anonymised_names() -> None:
    """ "丹灶丹灶" reads "丹灶"; "某区" and the cut "属医" go; order and distinctness stay."""
    places = ["丹灶丹灶", "某区", "属医", "丽发新城", "丹灶", "hs-84e6d2da91345012", "桂"]
    assert clean_places(places) == ["丹灶", "丽发新城"]
    assert len(clean_places([f"第{i}小区" for i in range(9)])) == 5
