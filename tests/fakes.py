"""An in-memory classifier and text preparation implementing the service's protocols.

Used by the unit tests, and by the integration tests through `triage serve --analyzer
tests.fakes:analyzer` for as long as the real model is not in the tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from streams.batch import Analyzer
from triage.core.domain import Evidence, LabelScore, Prediction, Span, TicketText

KEYWORDS: dict[str, tuple[str, ...]] = {
    "城乡建设": ("路灯", "下水道", "物业", "施工", "违建", "装修", "电梯", "楼"),
    "环境保护": ("噪音", "污水", "排放", "异味", "垃圾", "油烟", "粉尘", "污染"),
    "交通运输": ("公交", "道路", "红绿灯", "停车", "出租", "拥堵", "车站", "驾驶"),
    "教育文体": ("学校", "学生", "教室", "幼儿园", "网吧", "比赛", "培训", "老师"),
    "劳动和社会保障": ("工资", "社保", "欠薪", "劳动", "养老", "参保", "工伤", "失业"),
    "商贸旅游": ("超市", "价格", "商家", "退款", "旅游", "消费", "价签", "商场"),
    "卫生计生": ("医院", "医生", "药", "报销", "卫生", "疫苗", "诊所", "医保"),
}
_DIGITS = re.compile(r"\d{7,}[\dXx]?")


def fake_prepare(title: str, body: str) -> TicketText:
    """Masks long digit runs (phones, ID and card numbers) keeping the text's length."""
    return TicketText(
        _DIGITS.sub(lambda m: "*" * len(m.group()), title.strip()),
        _DIGITS.sub(lambda m: "*" * len(m.group()), body.strip()),
    )


class FakeClassifier:
    """Keyword counts turned into probabilities; deterministic, fast and explainable."""

    def __init__(self, version: str = "fake-1", threshold: float = 0.5) -> None:
        self._version = version
        self._thresholds = dict.fromkeys(KEYWORDS, threshold)
        self.calls = 0

    @property
    def version(self) -> str:
        return self._version

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted(KEYWORDS))

    @property
    def thresholds(self) -> Mapping[str, float]:
        return self._thresholds

    def predict(
        self, docs: Sequence[TicketText], k: int = 3, n_evidence: int = 5
    ) -> list[Prediction]:
        self.calls += 1
        return [self._one(doc, k, n_evidence) for doc in docs]

    def _one(self, doc: TicketText, k: int, n_evidence: int) -> Prediction:
        text = doc.title + "\n" + doc.body
        counts = {label: sum(text.count(w) for w in words) for label, words in KEYWORDS.items()}
        total = sum(counts.values()) + 0.2 * len(counts)
        ranked = sorted(counts, key=lambda label: (-counts[label], label))
        top = tuple(LabelScore(lb, (counts[lb] + 0.2) / total) for lb in ranked[:k])
        evidence = []
        for word in KEYWORDS[ranked[0]]:
            spans = tuple(
                Span(field, m.start(), m.end())
                for field, value in (("title", doc.title), ("body", doc.body))
                for m in re.finditer(re.escape(word), value)
            )
            if spans:
                evidence.append(Evidence(word, len(spans) / max(counts[ranked[0]], 1), spans))  # type: ignore[arg-type]
        return Prediction(top, tuple(evidence[:n_evidence]), self._version)


def analyzer(version: str = "fake-1") -> Analyzer:
    """The fake pair, as `triage serve --analyzer tests.fakes:analyzer` loads it."""
    return Analyzer(prepare=fake_prepare, classifier=FakeClassifier(version))


def cleaning_analyzer() -> Analyzer:
    """The fake classifier with the real text preparation, so that stored texts are those
    `triage hotspots` reads from a file (the hot-spot scenarios compare the two)."""
    from triage.core.text import prepare

    return Analyzer(prepare=prepare, classifier=FakeClassifier("fake-1"))
