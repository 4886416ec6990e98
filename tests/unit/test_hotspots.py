"""Hot-spot detection in the pure core: joining, separating, expiring, replaying, restoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.core.hotspots import (
    Detector,
    DetectorConfig,
    Sighting,
    Spot,
    heat_index,
    hotspot_id_for,
    rank,
)
from triage.core.hotspots.places import places
from triage.core.hotspots.spot import representative_title
from triage.core.hotspots.terms import bag

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)

# Unrelated complaints, so that document frequencies look like a real stream's: generic words
# (投诉, 反映, 问题, 小区) occur in many of them.
BACKGROUND = [
    ("反映A3区桂花路路灯不亮的问题", "桂花路晚上路灯全部不亮，市民出行很不安全，请尽快修复。"),
    ("投诉幸福里小区物业乱收费", "幸福里小区物业今年停车费涨了一倍，没有公示，业主很不满意。"),
    ("A7县东湖中学食堂卫生问题", "东湖中学食堂饭菜里多次吃出异物，学生家长反映多次无人处理。"),
    ("建议增开到高铁站的公交线路", "住在北城的市民去高铁站只能打车，建议增开一条公交线路。"),
    ("关于南苑小区电梯经常故障的投诉", "南苑小区3栋电梯一个月坏了四次，老人上下楼非常困难。"),
    ("A5区农贸市场占道经营", "农贸市场门口摊贩占道经营，早上交通堵塞，希望城管管理。"),
    ("咨询新生儿落户需要哪些材料", "请问在本市给新生儿办理户口登记需要准备哪些材料和证明？"),
    ("反映金沙路夜间渣土车噪音", "金沙路每晚都有渣土车经过，噪音很大还掉落泥土，影响居民休息。"),
    ("投诉红星医院排队时间太长", "红星医院门诊挂号要排两个小时，窗口只开两个，希望增加窗口。"),
    ("A2区翡翠湾小区停水三天", "翡翠湾小区已经停水三天没有任何通知，居民生活受到严重影响。"),
    ("社保卡补办进度查询", "上个月申请补办社保卡，到现在还没有收到，不知道进度如何。"),
    ("举报长青路餐馆油烟直排", "长青路一家餐馆油烟直接排向居民楼，窗户都不敢开。"),
    ("希望在滨江公园增设公厕", "滨江公园每天散步的人很多，但是公厕只有一个，离得很远。"),
    ("A4区城南学校周边交通拥堵", "城南学校放学时家长车辆乱停，周边道路堵得水泄不通。"),
    ("反映朝阳新村违章搭建", "朝阳新村有住户在楼顶违章搭建房屋，存在安全隐患。"),
    ("投诉快递公司野蛮分拣", "小区门口的快递点把包裹扔在地上分拣，很多包裹被损坏。"),
    ("关于开通夜班公交的建议", "很多市民下班很晚，建议在主要线路开通夜班公交。"),
    ("A6区樱花小区垃圾清运不及时", "樱花小区的垃圾桶经常满出来，几天才清运一次，臭味很大。"),
    ("求助：工地拖欠农民工工资", "我们在蓝天工地干了半年，老板拖欠工资三个月不发。"),
    ("反映水库周边非法钓鱼", "青山水库周边每天都有人非法钓鱼，还乱扔垃圾。"),
]

LIFA = [
    (
        "A2区丽发新城小区附近搅拌站噪音扰民",
        "丽发新城小区旁边新建了一个搅拌站，日夜施工，噪音扰民。",
    ),
    (
        "投诉丽发新城附近修建搅拌厂",
        "我是丽发新城的业主，小区附近修建了混凝土搅拌厂，每天晚上噪音很大，灰尘满天，"
        "严重影响我们的睡眠和孩子的健康，请相关部门尽快处理。",
    ),
    (
        "暮云街道丽发新城社区搅拌站灰尘噪音污染严重",
        "搅拌站离丽发新城居民楼不到一百米，粉尘和噪音污染严重。",
    ),
    ("丽发新城小区旁建搅拌厂严重扰民", "丽发新城旁边的搅拌厂凌晨还在作业，居民无法休息。"),
]


def sighting(tid: str, title: str, body: str, at: datetime, caller: str | None = None) -> Sighting:
    return Sighting(ticket_id=tid, received_at=at, title=title, body=body, caller=caller)


def warmed(config: DetectorConfig | None = None) -> Detector:
    """A detector that has seen the background stream, each complaint once."""
    detector = Detector(config)
    for i, (title, body) in enumerate(BACKGROUND):
        detector.observe(sighting(f"bg-{i}", title, body, T0 + timedelta(minutes=i)))
    return detector


def test_paraphrases_of_one_complaint_join_one_hotspot() -> None:
    """Four differently worded, differently long tickets about one site's noise share a spot."""
    detector = warmed()
    at = T0 + timedelta(days=1)
    assignments = [
        detector.observe(sighting(f"lf-{i}", t, b, at + timedelta(hours=i), caller=f"c{i}"))
        for i, (t, b) in enumerate(LIFA)
    ]
    assert assignments[0].seeded
    assert {a.hotspot_id for a in assignments} == {assignments[0].hotspot_id}
    spot = detector.spot(assignments[0].hotspot_id)
    assert spot is not None
    assert spot.tickets == 4 and spot.callers == 4
    assert "丽发" in spot.summary().places


def test_same_words_about_two_estates_do_not_join() -> None:
    """The same complaint about two different estates makes two hot spots."""
    detector = warmed()
    at = T0 + timedelta(days=1)
    body = "小区旁边新建了一个搅拌站，日夜施工，噪音扰民，灰尘很大。"
    first = detector.observe(sighting("a", "丽发新城小区附近搅拌站噪音扰民", body, at))
    second = detector.observe(
        sighting("b", "翠湖花园小区附近搅拌站噪音扰民", body, at + timedelta(hours=1))
    )
    third = detector.observe(
        sighting("c", "投诉翠湖花园附近的搅拌站噪音", body, at + timedelta(hours=2))
    )
    assert second.seeded and second.hotspot_id != first.hotspot_id
    assert third.hotspot_id == second.hotspot_id


def test_generic_words_alone_do_not_join() -> None:
    """Tickets that share only 投诉/反映/问题-type words and a generic place stay apart."""
    detector = warmed()
    at = T0 + timedelta(days=1)
    a = detector.observe(sighting("a", "投诉反映小区问题", "希望相关部门尽快解决这个问题。", at))
    b = detector.observe(
        sighting(
            "b", "反映问题", "小区问题一直没有解决，希望部门尽快处理。", at + timedelta(hours=1)
        )
    )
    assert a.hotspot_id != b.hotspot_id


def test_place_bigrams_outweigh_generic_ones() -> None:
    """In the term weights, an estate's bigrams count double and 投诉/反映/问题 not at all."""
    terms = bag("投诉丽发新城小区搅拌站问题", "反映丽发新城的问题")
    assert "投诉" not in terms.terms and "问题" not in terms.terms
    assert terms.weights()["丽发"] > terms.weights()["搅拌"]


def test_window_expires_old_members() -> None:
    """A paraphrase after the window seeds a new spot; the old one leaves memory."""
    detector = warmed(DetectorConfig(window_days=30))
    title, body = LIFA[0]
    old = detector.observe(sighting("old", title, body, T0 + timedelta(days=1)))
    assert len(detector) == len(BACKGROUND) + 1
    later = T0 + timedelta(days=40)
    new = detector.observe(sighting("new", LIFA[1][0], LIFA[1][1], later))
    assert new.seeded and new.hotspot_id != old.hotspot_id
    assert detector.hotspot_of("old") is None
    assert len(detector) == 1
    retired = {s.hotspot_id for s in detector.drain_retired()}
    assert old.hotspot_id in retired
    assert detector.spot(old.hotspot_id) is None


def test_window_holds_at_most_max_tickets() -> None:
    """Past `max_tickets` the oldest tickets leave first, however recent they are."""
    detector = Detector(DetectorConfig(max_tickets=5))
    for i, (title, body) in enumerate(BACKGROUND[:10]):
        detector.observe(sighting(f"bg-{i}", title, body, T0 + timedelta(minutes=i)))
    assert len(detector) == 5
    assert detector.hotspot_of("bg-4") is None and detector.hotspot_of("bg-5") is not None


def test_replayed_ticket_never_joins_twice() -> None:
    """Observing a ticket again returns its hot spot and changes no count."""
    detector = warmed()
    at = T0 + timedelta(days=1)
    first = detector.observe(sighting("lf-0", *LIFA[0], at))
    joined = detector.observe(sighting("lf-1", *LIFA[1], at + timedelta(hours=1)))
    again = detector.observe(sighting("lf-1", *LIFA[1], at + timedelta(hours=1)))
    assert again.replayed and again.hotspot_id == joined.hotspot_id == first.hotspot_id
    spot = detector.spot(first.hotspot_id)
    assert spot is not None and spot.tickets == 2
    assert len(detector) == len(BACKGROUND) + 2


def test_restore_rebuilds_without_counting_again() -> None:
    """A detector rebuilt from stored spots and assignments goes on where the first stopped."""
    first = warmed()
    at = T0 + timedelta(days=1)
    assigned = [
        first.observe(sighting(f"lf-{i}", t, b, at + timedelta(hours=i), caller=f"c{i}"))
        for i, (t, b) in enumerate(LIFA[:3])
    ]
    spot = first.spot(assigned[0].hotspot_id)
    assert spot is not None
    stored = spot.summary()

    second = Detector()
    second.restore_spot(Spot.restore(stored, spot.caller_keys, spot.titles()))
    for i, (title, body) in enumerate(BACKGROUND):
        tid = f"bg-{i}"
        hotspot = first.hotspot_of(tid)
        assert hotspot is not None
        second.restore(sighting(tid, title, body, T0 + timedelta(minutes=i)), hotspot)
    for i, (title, body) in enumerate(LIFA[:3]):
        second.restore(
            sighting(f"lf-{i}", title, body, at + timedelta(hours=i)), assigned[0].hotspot_id
        )
    replayed = second.observe(sighting("lf-2", *LIFA[2], at + timedelta(hours=2), caller="c2"))
    new = second.observe(sighting("lf-3", *LIFA[3], at + timedelta(hours=3), caller="c3"))
    assert replayed.replayed
    assert new.hotspot_id == assigned[0].hotspot_id
    restored = second.spot(new.hotspot_id)
    assert restored is not None and restored.tickets == 4 and restored.callers == 4


def test_similar_reports_without_changing_the_window() -> None:
    """`similar` ranks recent tickets and names the spot the text would join, adding nothing."""
    detector = warmed()
    at = T0 + timedelta(days=1)
    seeded = detector.observe(sighting("lf-0", *LIFA[0], at))
    size = len(detector)
    matches, would_join = detector.similar(*LIFA[3])
    assert matches and matches[0].ticket_id == "lf-0"
    assert would_join == seeded.hotspot_id
    assert len(detector) == size


def _stream(days: int) -> list[Sighting]:
    """Background and hot-spot tickets, two a day, some words in all of them, some in few."""
    texts = BACKGROUND + LIFA
    return [
        sighting(
            f"s-{i:04d}",
            texts[i % len(texts)][0],
            texts[i % len(texts)][1] + ("，已经反映多次" if i % 3 else ""),
            T0 + timedelta(hours=12 * i),
        )
        for i in range(2 * days)
    ]


def test_a_window_followed_ticket_by_ticket_equals_one_rebuilt() -> None:
    """A window that followed every ticket and one rebuilt from the last two windows at the
    same point give the same `similar`: the same tickets, scores and order."""
    config = DetectorConfig(df_window_only=True)
    stream = _stream(300)
    followed = Detector(config)
    for s in stream:
        followed.follow(s, hotspot_id_for(s.ticket_id))
    since = stream[-1].received_at - timedelta(days=config.window_days)
    rebuilt = Detector(config)
    for s in stream:
        if since - timedelta(days=config.window_days) <= s.received_at < since:
            rebuilt.count(s)
        elif s.received_at >= since:
            rebuilt.follow(s, hotspot_id_for(s.ticket_id))
    assert len(rebuilt) == len(followed)
    for title, body in [*LIFA, *BACKGROUND[:6], ("丽发新城搅拌站", "噪音")]:
        mine, theirs = followed.similar(title, body), rebuilt.similar(title, body)
        assert mine[0], title
        assert mine == theirs, title


def test_posting_lists_stay_bounded() -> None:
    """However many tickets share a term, its posting list keeps only the most recent ones."""
    config = DetectorConfig(posting_cap=8)
    detector = Detector(config)
    for i in range(50):
        detector.observe(sighting(f"t{i}", *LIFA[i % 4], T0 + timedelta(minutes=i)))
    assert max(len(p) for p in detector._postings.values()) <= 8


def test_hotspot_ids_follow_the_seed() -> None:
    """A hot spot's id is derived from its seed ticket, so a replay names it the same."""
    detector = Detector()
    a = detector.observe(sighting("seed-1", *LIFA[0], T0))
    assert a.hotspot_id == hotspot_id_for("seed-1")


def test_places_found_by_suffix_and_cleared_of_complaint_words() -> None:
    """Estates, roads and schools are found; 投诉/关于 prefixes and bare suffixes are not."""
    assert places("投诉A市伊景园滨河苑捆绑销售车位") == ["伊景", "滨河"]
    assert "魅力之" in places("A5区劳动东路魅力之城小区一楼的夜宵摊")
    assert places("投诉小区附近搅拌站噪音扰民") == []
    assert places("关于A6区月亮岛路沿线架设高压线的投诉")[0] == "月亮岛"


def test_heat_counts_people_more_than_repeats() -> None:
    """Ten tickets from ten callers are hotter than ten from one; likes and growth add heat."""
    many = heat_index(tickets=10, callers=10, peak_7d=3, recent_7d=1, likes=0)
    one = heat_index(tickets=10, callers=1, peak_7d=3, recent_7d=1, likes=0)
    assert many > one
    assert heat_index(10, 10, 3, 1, 100) > many
    assert heat_index(10, 10, 3, 5, 0) > many
    assert heat_index(10, 10, 8, 1, 0) > many


def test_representative_title_is_the_central_one() -> None:
    """The title chosen shares most words with the others, not the vaguest or longest."""
    titles = ["环境污染", "丽发新城附近搅拌站噪音扰民", "投诉丽发新城搅拌站噪音", "搅拌站噪音扰民"]
    assert representative_title(titles) in titles[1:]
    assert representative_title(titles) != "环境污染"


def test_rank_orders_by_heat_and_drops_singletons() -> None:
    """The offline ranking lists spots of two or more, hottest first."""
    rows = [
        sighting(f"bg-{i}", t, b, T0 + timedelta(minutes=i)) for i, (t, b) in enumerate(BACKGROUND)
    ]
    rows += [
        sighting(f"lf-{i}", t, b, T0 + timedelta(days=1, hours=i), caller=f"c{i}")
        for i, (t, b) in enumerate(LIFA)
    ]
    ranked = rank(reversed(rows))
    assert ranked and ranked[0].tickets == 4
    assert set(ranked[0].members) == {f"lf-{i}" for i in range(4)}
    assert all(s.tickets >= 2 for s in ranked)
    assert [s.heat for s in ranked] == sorted((s.heat for s in ranked), reverse=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_days": 0},
        {"join_threshold": 0.0},
        {"top_terms": 0},
        {"df_half_life_days": -1},
        {"max_tickets": 0},
        {"consensus_threshold": 1.5},
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, float]) -> None:
    """A detector configuration that cannot work is refused with the value named."""
    with pytest.raises(ValueError, match="must"):
        DetectorConfig(**kwargs)  # type: ignore[arg-type]
