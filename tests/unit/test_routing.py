"""The routing policy: thresholds, district counterparts, review, deterministic ids."""

from __future__ import annotations

from triage.adapters.registry_file import load_registry
from triage.core.domain import LabelScore, Prediction, TicketText
from triage.core.routing import content_hash, decide, decision_id

REGISTRY = load_registry()


def _prediction(label: str, p: float, version: str = "v1") -> Prediction:
    others = [x for x in REGISTRY.labels if x != label][:2]
    rest = (1 - p) / 2
    top = (LabelScore(label, p), *(LabelScore(x, rest) for x in others))
    return Prediction(top, (), version)


def test_confident_ticket_routes_to_city_department() -> None:
    """Above the label's threshold and no district: the label's city department."""
    d = decide(
        _prediction("交通运输", 0.9),
        REGISTRY,
        ticket_id="T-1",
        digest="d",
        location=None,
        thresholds={"交通运输": 0.6},
    )
    assert d.kind == "routed"
    assert d.department == REGISTRY.city_department("交通运输").code
    assert d.threshold == 0.6


def test_district_in_location_picks_counterpart() -> None:
    """A location naming a district routes to that district's counterpart."""
    d = decide(
        _prediction("环境保护", 0.9),
        REGISTRY,
        ticket_id="T-1",
        digest="d",
        location="佛山市顺德区容桂街道",
        thresholds={},
    )
    assert d.district == "shunde"
    assert d.department == REGISTRY.for_label("环境保护", "shunde").code


def test_below_threshold_goes_to_review_with_suggestions() -> None:
    """Below the threshold: review, no department, ranked suggestions with departments."""
    d = decide(
        _prediction("卫生计生", 0.4),
        REGISTRY,
        ticket_id="T-1",
        digest="d",
        location=None,
        thresholds={"卫生计生": 0.5},
    )
    assert d.kind == "review"
    assert d.department is None
    assert d.suggestions[0].label == "卫生计生"
    assert all(s.department for s in d.suggestions)


def test_department_threshold_overrides_model() -> None:
    """A department's own threshold wins over the model's per-label one."""
    dept = next(x for x in REGISTRY.departments if x.threshold is not None and x.labels)
    label = dept.labels[0]
    district = dept.district
    location = REGISTRY.district(district).name if district else None  # type: ignore[union-attr]
    d = decide(
        _prediction(label, 0.99),
        REGISTRY,
        ticket_id="T",
        digest="d",
        location=location,
        thresholds={label: 0.1},
    )
    assert d.threshold == dept.threshold


def test_unknown_label_goes_to_review() -> None:
    """A label the registry does not know is never routed."""
    p = Prediction((LabelScore("未知", 0.99),), (), "v1")
    d = decide(p, REGISTRY, ticket_id="T", digest="d", location=None, thresholds={})
    assert d.kind == "review"
    assert d.suggestions[0].department is None


def test_decision_id_is_deterministic() -> None:
    """Same ticket, model and content give the same id; any change gives another."""
    h = content_hash("title", "body", None)
    assert decision_id("T", "v1", h) == decision_id("T", "v1", content_hash("title", "body", None))
    assert decision_id("T", "v2", h) != decision_id("T", "v1", h)
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert content_hash(None, "x") != content_hash("", "x")


def test_district_named_only_in_the_text_picks_counterpart() -> None:
    """No location, but the caller names a town: that town's district decides."""
    d = decide(
        _prediction("环境保护", 0.9),
        REGISTRY,
        ticket_id="T-1",
        digest="d",
        location=None,
        thresholds={},
        text=TicketText("", "大良街道某工厂夜间排放废气，气味刺鼻"),
    )
    assert d.district == "shunde"
    assert d.department == REGISTRY.for_label("环境保护", "shunde").code


def test_location_outranks_the_text_and_two_districts_are_not_guessed() -> None:
    """The location wins over the text; a text naming two districts keeps the city department."""
    prediction = _prediction("环境保护", 0.9)
    by_location = decide(
        prediction,
        REGISTRY,
        ticket_id="T-1",
        digest="d",
        location="南海区桂城",
        thresholds={},
        text=TicketText("", "大良街道某工厂排放废气"),
    )
    assert by_location.district == "nanhai"
    two = decide(
        prediction,
        REGISTRY,
        ticket_id="T-2",
        digest="d",
        location="",
        thresholds={},
        text=TicketText("", "工厂从狮山搬到大良后仍然排放废气"),
    )
    assert two.district is None
    assert two.department == REGISTRY.city_department("环境保护").code
