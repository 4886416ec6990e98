"""The department registry: the shipped Foshan file, lookups, district resolution, validation."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from triage.adapters.registry_file import load_registry
from triage.core.departments import Department, Registry, routed_topic
from triage.core.errors import RegistryError, RegistryLookupError, TriageError

MODEL_LABELS = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
)
DISTRICTS = ("chancheng", "nanhai", "shunde", "gaoming", "sanshui")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def write(tmp_path: Path, text: str, name: str = "registry.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# A valid two-label, one-district registry that each bad case below breaks in one place.
SMALL = """\
    labels = ["甲", "乙"]

    [districts.east]
    name = "东区"
    aliases = ["东区", "东城"]

    [[departments]]
    code = "city-a"
    name = "市甲局"
    level = "city"
    labels = ["甲"]

    [[departments]]
    code = "city-b"
    name = "市乙局"
    level = "city"
    labels = ["乙"]
    threshold = 0.8

    [[departments]]
    code = "east-a"
    name = "东区甲局"
    level = "district"
    district = "east"
    labels = ["甲"]
    counterpart_of = "city-a"
"""


def refused(tmp_path: Path, text: str) -> RegistryError:
    path = write(tmp_path, text)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(path) in str(caught.value), "the message names the file"
    return caught.value


# ---------------------------------------------------------------------- the shipped registry


def test_shipped_registry_loads(registry: Registry) -> None:
    """The shipped Foshan registry loads, covers the model's seven labels and names its source."""
    assert registry.labels == tuple(sorted(MODEL_LABELS))
    assert registry.source.endswith("foshan_departments.toml")
    assert registry.city == "佛山市"
    assert len(registry.departments) == len(registry) > 30


def test_every_label_has_one_city_department(registry: Registry) -> None:
    """Each label routes to exactly one city department when no district is known."""
    for label in MODEL_LABELS:
        owners = [d for d in registry.departments if d.level == "city" and label in d.labels]
        assert len(owners) == 1, label
        assert registry.for_label(label) == owners[0]
        assert owners[0].name.startswith("佛山市")


def test_every_district_has_a_counterpart_for_every_label(registry: Registry) -> None:
    """In each of the five districts every label has a local department mirroring a city one."""
    assert {d.code for d in registry.districts} == set(DISTRICTS)
    for district in DISTRICTS:
        for label in MODEL_LABELS:
            dept = registry.for_label(label, district)
            assert dept.level == "district", (district, label)
            assert dept.district == district
            assert dept.counterpart_of is not None
            counterpart = registry.get(dept.counterpart_of)
            assert counterpart is not None
            assert counterpart.level == "city"


def test_a_district_bureau_may_cover_several_labels(registry: Registry) -> None:
    """Nanhai's merged bureau receives both environment and transport tickets."""
    env = registry.for_label("环境保护", "nanhai")
    assert env is registry.for_label("交通运输", "nanhai")
    assert env.name == "佛山市南海区环境运输和城市管理局"


def test_codes_are_topic_safe_and_topics_are_derived(registry: Registry) -> None:
    """Topics are <prefix>.routed.<code>, with the prefix supplied by the caller."""
    assert registry.topic_for("shunde-housing", "hotline") == "hotline.routed.shunde-housing"
    assert registry.topic_for("city-health", "staging.hotline") == (
        "staging.hotline.routed.city-health"
    )
    assert len(set(registry.topics("hotline"))) == len(registry.departments)
    with pytest.raises(RegistryError, match="prefix"):
        routed_topic("hot line", "city-health")


def test_lookups_of_unknown_things_fail_clearly(registry: Registry) -> None:
    """Unknown codes, labels and districts raise a lookup error naming them; get() returns None."""
    assert registry.get("no-such-dept") is None
    assert "city-housing" in registry
    with pytest.raises(RegistryLookupError, match="no-such-dept"):
        registry.topic_for("no-such-dept", "hotline")
    with pytest.raises(RegistryLookupError, match="环保"):
        registry.for_label("环保")
    with pytest.raises(RegistryLookupError, match="guangzhou"):
        registry.for_label("城乡建设", "guangzhou")
    with pytest.raises(LookupError):
        registry.for_label("环保")


def test_thresholds_are_optional_per_department(registry: Registry) -> None:
    """A department without a threshold leaves it to the service; the health bureaus ask more."""
    assert registry.for_label("卫生计生").threshold == pytest.approx(0.7)
    assert registry.for_label("城乡建设").threshold is None


def test_to_json_is_plain_data(registry: Registry) -> None:
    """to_json gives JSON-serialisable dicts, with topics only when a prefix is given."""
    rows = registry.to_json()
    assert len(rows) == len(registry.departments)
    assert "topic" not in rows[0]
    json.dumps(rows, ensure_ascii=False)
    by_code = {row["code"]: row for row in registry.to_json(prefix="hotline")}
    shunde = by_code["shunde-housing"]
    assert shunde["topic"] == "hotline.routed.shunde-housing"
    assert shunde["district"] == "shunde"
    assert shunde["district_name"] == "顺德区"
    assert shunde["labels"] == ["城乡建设"]


# ---------------------------------------------------------------------- district resolution


@pytest.mark.parametrize(
    ("location", "district"),
    [
        ("禅城区", "chancheng"),
        ("南海", "nanhai"),
        ("顺德区", "shunde"),
        ("高明区荷城街道", "gaoming"),
        ("三水区", "sanshui"),
        ("Chancheng, Foshan", "chancheng"),
        ("ＮＡＮＨＡＩ", "nanhai"),
    ],
)
def test_district_names_resolve(registry: Registry, location: str, district: str) -> None:
    """District names, pinyin and full-width letters identify the district."""
    assert registry.resolve_district(location) == district


@pytest.mark.parametrize(
    ("location", "district"),
    [
        ("大良", "shunde"),
        ("顺德区容桂街道容奇大道中", "shunde"),
        ("北滘镇碧桂路", "shunde"),
        ("桂城千灯湖附近", "nanhai"),
        ("狮山镇松岗", "nanhai"),
        ("张槎街道", "chancheng"),
        ("石湾公园旁", "chancheng"),
        ("明城镇", "gaoming"),
        ("更合镇", "gaoming"),
        ("芦苞镇", "sanshui"),
        ("西南街道广海大道", "sanshui"),
        ("云东海", "sanshui"),
    ],
)
def test_towns_resolve_to_their_district(registry: Registry, location: str, district: str) -> None:
    """A town or sub-district (街道/镇) alone is enough to find the district."""
    assert registry.resolve_district(location) == district


@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        "   ",
        "广州市天河区",
        "不详",
        "小区西南侧路口",
        "家里水管爆裂",
        "收费应更合理",
        "创建文明城市",
    ],
)
def test_no_district_when_none_is_named(registry: Registry, location: str | None) -> None:
    """Text naming no district, or only everyday words that resemble a town, resolves to None."""
    assert registry.resolve_district(location) is None


def test_longest_alias_wins_over_a_shorter_one_elsewhere(registry: Registry) -> None:
    """A longer alias beats a shorter one of another district, wherever each appears."""
    # "南庄" (禅城, 2 chars) comes first, "乐从镇" (顺德, 3 chars) is longer.
    assert registry.resolve_district("南庄大道往乐从镇方向") == "shunde"


def test_equal_length_aliases_resolve_to_the_earliest(registry: Registry) -> None:
    """Two districts named with equally long aliases: the one mentioned first wins."""
    assert registry.resolve_district("南海区大沥镇与禅城区交界处") == "nanhai"
    assert registry.resolve_district("禅城区与南海区交界处") == "chancheng"
    # "容桂城区" holds both 容桂 (顺德) and 桂城 (南海); 容桂 starts first.
    assert registry.resolve_district("容桂城区") == "shunde"


def test_sample_tickets_resolve_to_their_intended_district(registry: Registry) -> None:
    """On the shipped sample tickets, location (else body) resolves to the intended district."""
    samples = Path(__file__).resolve().parents[2] / "samples"
    tickets = [
        json.loads(line) for line in (samples / "tickets.jsonl").read_text("utf-8").splitlines()
    ]
    intended = {
        row["ticket_id"]: row["district"]
        for row in map(
            json.loads, (samples / "tickets_labels.jsonl").read_text("utf-8").splitlines()
        )
    }
    assert len(tickets) == len(intended) >= 240
    for ticket in tickets:
        found = registry.resolve_district(ticket.get("location"))
        if found is None:
            found = registry.resolve_district(ticket["body"])
        assert found == intended[ticket["ticket_id"]], ticket


# ---------------------------------------------------------------------- validation


def test_small_registry_loads(tmp_path: Path) -> None:
    """The fixture registry used by the refusal tests is itself valid."""
    reg = load_registry(write(tmp_path, SMALL))
    assert reg.labels == ("乙", "甲")
    assert reg.for_label("甲", "east").code == "east-a"
    assert reg.for_label("乙", "east").code == "city-b", "no local counterpart: the city's"
    assert reg.resolve_district("东城某路") == "east"


def test_duplicate_code_is_refused(tmp_path: Path) -> None:
    """Two departments with one code are refused, naming the code."""
    error = refused(tmp_path, SMALL.replace('code = "city-b"', 'code = "city-a"'))
    assert "duplicate code" in str(error)
    assert "'city-a'" in str(error)
    assert error.entry == "city-a"


def test_unknown_label_is_refused(tmp_path: Path) -> None:
    """A department label outside the declared label set is refused, naming both."""
    error = refused(tmp_path, SMALL.replace('labels = ["乙"]\n', 'labels = ["丙"]\n'))
    assert "unknown label '丙'" in str(error)
    assert "'city-b'" in str(error)


def test_label_without_city_department_is_refused(tmp_path: Path) -> None:
    """A declared label that no city department handles is refused."""
    error = refused(tmp_path, SMALL.replace('labels = ["乙"]\n', "labels = []\n"))
    assert "label '乙' has no city department" in str(error)


def test_label_with_two_city_departments_is_refused(tmp_path: Path) -> None:
    """A label handled by two city departments is ambiguous and refused."""
    error = refused(tmp_path, SMALL.replace('labels = ["乙"]\n', 'labels = ["甲", "乙"]\n'))
    assert "two city departments" in str(error)
    assert "'city-a'" in str(error)
    assert "'city-b'" in str(error)


def test_unknown_district_is_refused(tmp_path: Path) -> None:
    """A district department pointing at a district missing from [districts] is refused."""
    error = refused(tmp_path, SMALL.replace('district = "east"', 'district = "west"'))
    assert "unknown district 'west'" in str(error)
    assert "'east-a'" in str(error)


@pytest.mark.parametrize("threshold", ["1.5", "-0.1", "nan", "true", '"high"'])
def test_bad_threshold_is_refused(tmp_path: Path, threshold: str) -> None:
    """A threshold that is not a number in 0..1 is refused, naming the department."""
    error = refused(tmp_path, SMALL.replace("threshold = 0.8", f"threshold = {threshold}"))
    assert "bad threshold" in str(error)
    assert "'city-b'" in str(error)


@pytest.mark.parametrize("code", ["City-A", "city_a", "city a", "-city", "city.", "城市", "x" * 65])
def test_bad_code_characters_are_refused(tmp_path: Path, code: str) -> None:
    """Codes must be topic-safe: lowercase ASCII, digits, dots and dashes."""
    error = refused(tmp_path, SMALL.replace('code = "city-a"', f'code = "{code}"'))
    assert "bad code characters" in str(error)
    assert repr(code) in str(error)


def test_stored_topic_is_refused(tmp_path: Path) -> None:
    """A `topic` key is refused because topics are derived from the configurable prefix."""
    error = refused(
        tmp_path,
        SMALL.replace('code = "city-b"', 'code = "city-b"\n    topic = "hotline.routed.city-b"'),
    )
    assert "topic" in str(error)
    assert "derived" in str(error)


def test_alias_shared_by_two_districts_is_refused(tmp_path: Path) -> None:
    """One alias may name only one district, or resolution would be arbitrary."""
    text = SMALL + '\n    [districts.west]\n    name = "西区"\n    aliases = ["东城"]\n'
    error = refused(tmp_path, text)
    assert "'东城'" in str(error)


def test_counterpart_must_be_a_city_department(tmp_path: Path) -> None:
    """counterpart_of must name an existing city department."""
    error = refused(
        tmp_path, SMALL.replace('counterpart_of = "city-a"', 'counterpart_of = "city-x"')
    )
    assert "counterpart_of 'city-x'" in str(error)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("labels = [", "not valid TOML"),
        ('[[departments]]\ncode = "a"\n', "'labels' is missing"),
        (
            SMALL.replace(
                'level = "city"\n    labels = ["甲"]', 'level = "town"\n    labels = ["甲"]'
            ),
            "level must be",
        ),
        (SMALL.replace('    district = "east"\n', ""), "needs 'district'"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    """Syntax errors, missing labels, bad levels and missing districts are refused."""
    assert problem in str(refused(tmp_path, text))


def test_registry_error_belongs_to_the_project_tree(tmp_path: Path) -> None:
    """RegistryError is a TriageError, and a missing file or odd suffix is one too."""
    with pytest.raises(TriageError, match="cannot read"):
        load_registry(tmp_path / "absent.toml")
    with pytest.raises(RegistryError, match="unknown registry format"):
        load_registry(write(tmp_path, SMALL, name="registry.ini"))


def test_constructing_a_registry_in_code_is_validated_too() -> None:
    """Registry(...) built without a file still refuses a label with no city department."""
    dept = Department(code="city-a", name="市甲局", level="city", district=None, labels=("甲",))
    assert Registry(source="inline", labels=("甲",), departments=(dept,)).for_label("甲") == dept
    with pytest.raises(RegistryError, match="'乙' has no city department"):
        Registry(source="inline", labels=("甲", "乙"), departments=(dept,))


# ---------------------------------------------------------------------- YAML


YAML = """\
    labels: [甲, 乙]
    districts:
      east:
        name: 东区
        aliases: [东区, 东城]
    departments:
      - code: city-a
        name: 市甲局
        level: city
        labels: [甲]
      - code: city-b
        name: 市乙局
        level: city
        labels: [乙]
        threshold: 0.8
      - code: east-a
        name: 东区甲局
        level: district
        district: east
        labels: [甲]
        counterpart_of: city-a
"""


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_registry_loads_like_toml(tmp_path: Path, suffix: str) -> None:
    """A YAML file of the same shape gives the same registry as the TOML one."""
    from_yaml = load_registry(write(tmp_path, YAML, name=f"registry{suffix}"))
    from_toml = load_registry(write(tmp_path, SMALL))
    assert from_yaml.departments == from_toml.departments
    assert from_yaml.districts == from_toml.districts
    assert from_yaml.for_label("乙").threshold == pytest.approx(0.8)


def test_yaml_is_validated_too(tmp_path: Path) -> None:
    """YAML gets the same checks, and a YAML syntax error is a RegistryError."""
    path = write(tmp_path, YAML.replace("threshold: 0.8", "threshold: 2"), name="r.yaml")
    with pytest.raises(RegistryError, match="bad threshold"):
        load_registry(path)
    broken = write(tmp_path, "labels: [甲\n", name="broken.yml")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(broken)


# ---------------------------------------------------------------------- deadlines


def test_shipped_deadlines_are_set_for_a_few_departments(registry: Registry) -> None:
    """Water and urban management are quicker, the market regulator slower; most departments
    leave the deadlines to the service-wide default (None)."""
    assert registry.deadline_hours("city-water") == (2.0, 14.0)
    assert registry.deadline_hours("city-urban") == (4.0, 21.0)
    assert registry.deadline_hours("chancheng-urban") == (4.0, 21.0), "inherited from the city"
    assert registry.deadline_hours("city-market") == (None, 70.0)
    assert registry.deadline_hours("nanhai-market") == (None, 70.0)
    assert registry.deadline_hours("chancheng-housing") == (4.0, None), "its own accept_hours"
    assert registry.deadline_hours("city-housing") == (None, None)
    assert registry.department("chancheng-urban").accept_hours is None


def test_deadline_hours_are_inherited_key_by_key(tmp_path: Path) -> None:
    """A district counterpart takes each deadline it does not set from its city department."""
    text = SMALL.replace(
        'labels = ["甲"]\n\n    [[departments]]\n    code = "city-b"',
        'labels = ["甲"]\n    accept_hours = 3\n    resolve_hours = 14\n\n'
        '    [[departments]]\n    code = "city-b"',
    ).replace('counterpart_of = "city-a"', 'counterpart_of = "city-a"\n    resolve_hours = 21.5')
    reg = load_registry(write(tmp_path, text))
    assert reg.deadline_hours("city-a") == (3.0, 14.0)
    assert reg.deadline_hours("east-a") == (3.0, 21.5)
    assert reg.deadline_hours("city-b") == (None, None)
    east = reg.department("east-a")
    assert (east.accept_hours, east.resolve_hours) == (None, 21.5)
    assert east.to_json()["accept_hours"] is None and east.to_json()["resolve_hours"] == 21.5


@pytest.mark.parametrize(
    "value", ['"seven"', "true", "0", "-4", "nan", "inf", "10001", "[7]", '"7"']
)
@pytest.mark.parametrize("key", ["accept_hours", "resolve_hours"])
def test_bad_deadline_hours_are_refused_naming_the_department(
    tmp_path: Path, key: str, value: str
) -> None:
    """Deadline hours that are not a number above 0 (and at most 10000) are refused."""
    error = refused(
        tmp_path, SMALL.replace("threshold = 0.8", f"threshold = 0.8\n    {key} = {value}")
    )
    assert f"bad {key}" in str(error)
    assert "'city-b'" in str(error) and error.entry == "city-b"


def test_resolve_before_accept_is_refused_naming_the_department(tmp_path: Path) -> None:
    """A department that would have to resolve a ticket before accepting it is refused."""
    text = SMALL.replace(
        "threshold = 0.8", "threshold = 0.8\n    accept_hours = 8\n    resolve_hours = 4"
    )
    error = refused(tmp_path, text)
    assert "'city-b'" in str(error) and error.entry == "city-b"
    assert "resolve_hours 4 is less than accept_hours 8" in str(error)


def test_an_inherited_deadline_is_checked_with_the_counterparts_own(tmp_path: Path) -> None:
    """A district department's own accept_hours above its city department's resolve_hours is
    refused, naming the district department and where the inherited value comes from."""
    text = SMALL.replace(
        'counterpart_of = "city-a"', 'counterpart_of = "city-a"\n    accept_hours = 40'
    ).replace(
        'labels = ["甲"]\n\n    [[departments]]\n    code = "city-b"',
        'labels = ["甲"]\n    resolve_hours = 35\n\n    [[departments]]\n    code = "city-b"',
    )
    error = refused(tmp_path, text)
    assert error.entry == "east-a"
    assert "resolve_hours 35 (from 'city-a') is less than accept_hours 40" in str(error)


def test_yaml_deadlines_are_validated_too(tmp_path: Path) -> None:
    """The YAML form takes the same keys, with the same checks."""
    good = write(
        tmp_path,
        YAML.replace("threshold: 0.8", "threshold: 0.8\n        accept_hours: 2"),
        name="r.yaml",
    )
    assert load_registry(good).deadline_hours("city-b") == (2.0, None)
    bad = write(
        tmp_path,
        YAML.replace("threshold: 0.8", "threshold: 0.8\n        accept_hours: two"),
        name="b.yaml",
    )
    with pytest.raises(RegistryError, match=r"city-b.*bad accept_hours 'two'"):
        load_registry(bad)
