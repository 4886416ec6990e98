"""Places and groups of people named in a complaint, and the generic words that are neither.

A hot spot is one problem at one place (an estate, a road, a school, a company, a case), so the
detector must tell "丽发新城小区附近搅拌站噪音扰民" from the same words about another estate.
Chinese has no spaces and jieba cuts unknown estate names apart ("伊景园滨河苑" becomes
"市伊/景园/滨河/苑"), so places are found by their suffix instead: a run of up to eight
characters that ends in a place word (小区, 花园, 苑, 路, 学院, 公司, ...), cut back at the last
road or district inside it and stripped of the complaint verbs that precede it in titles
("投诉", "关于", "反映"). The anonymised codes of the shared data ("A市", "A2区", "A7县") are
regions, not places: they are kept apart (see ``REGION``) because half of all tickets name one.
"""

from __future__ import annotations

import re

# The city, district and county codes the organisers used to anonymise the data; in live
# tickets these are real names (佛山市, 南海区), which the suffix rule below also finds.
REGION = re.compile(r"[A-Z]\d{0,2}[市区县]")

# Words that end the name of a place or of a group of people. Longest first, so that "小区"
# wins over "区" and "大道" over "道".
_SUFFIXES = sorted(
    {
        "小区",
        "花园",
        "家园",
        "新城",
        "新村",
        "社区",
        "公寓",
        "大厦",
        "广场",
        "名苑",
        "华府",
        "苑",
        "园",
        "城",
        "府",
        "湾",
        "庭",
        "郡",
        "墅",
        "院",
        "村",
        "镇",
        "乡",
        "街道",
        "大道",
        "路",
        "街",
        "巷",
        "学院",
        "大学",
        "中学",
        "小学",
        "幼儿园",
        "学校",
        "医院",
        "市场",
        "公园",
        "公司",
        "集团",
        "物业",
        "车贷",
        "楼盘",
    },
    key=len,
    reverse=True,
)
_SUFFIX_RE = "|".join(_SUFFIXES)
_CJK = "\u4e00-\u9fff"
# A name: up to eight Chinese characters, digits or letters before one or more suffixes.
_MAX_NAME = 8
_SUFFIX_RUN = re.compile(rf"(?:{_SUFFIX_RE})+")
_NAME_TAIL = re.compile(rf"[{_CJK}0-9A-Za-z]*$")
# Inside a candidate, a road, street or region ends one name and starts the next:
# "劳动东路魅力之城小区" is two places, "劳动东路" and "魅力之城小区".
_INNER_BREAK = re.compile(r"(?<=[路街道区县市镇乡])")

# Words that open a complaint or fill it without naming anything: what a place must not start
# with, and what carries no weight in similarity wherever it occurs.
GENERIC = (
    "投诉",
    "反映",
    "反应",
    "举报",
    "问题",
    "关于",
    "建议",
    "咨询",
    "请问",
    "希望",
    "请求",
    "要求",
    "恳请",
    "强烈",
    "严重",
    "领导",
    "您好",
    "你好",
    "市民",
    "我们",
    "我是",
    "本人",
    "相关",
    "部门",
    "政府",
    "解决",
    "处理",
    "情况",
    "现在",
    "目前",
    "一直",
    "已经",
    "谢谢",
    "附近",
    "周边",
    "旁边",
    "为什么",
    "什么",
    "何时",
    "能否",
    "是否",
    "如何",
    "怎么",
    "再次",
    "有关",
    "尽快",
    "加快",
    "立即",
    "我家",
    "业主",
    "居民",
    "群众",
)
_GENERIC_PREFIX = re.compile("^(?:" + "|".join(sorted(GENERIC, key=len, reverse=True)) + ")+")
# Characters that never belong to a name: particles and verbs that sit between a name and
# the words around it.
_NOT_NAME = re.compile(r"[的了在和与及对向从把被给让是将于距到]")

# A suffix alone ("小区", "路") or a generic head ("该小区", "本路") names nothing.
_MIN_CORE = 2


_TRAILING = re.compile(rf"(?<=..)(?:{_SUFFIX_RE})$")
_SUFFIX_SET = frozenset(_SUFFIXES)


def _core(name: str) -> str:
    """The distinctive part of a place: its name without its suffix words, at least two
    characters long ("丽发新城小区" -> "丽发", "翠苑小区" -> "翠苑", "小区" -> "")."""
    while True:
        match = _TRAILING.search(name)
        if match is None:
            return "" if name in _SUFFIX_SET else name
        name = name[: match.start()]


def places(text: str) -> list[str]:
    """Places and groups named in `text`, as their distinctive cores, in order of appearance.

    >>> places("A5区劳动东路魅力之城小区一楼的夜宵摊")
    ['劳动东', '魅力之']
    """
    found: list[str] = []
    text = REGION.sub("，", text)
    end = 0
    # Find the suffixes first (one scan), then look back at most _MAX_NAME characters, never
    # into the previous place: much faster than a lazy pattern tried at every position.
    for match in _SUFFIX_RUN.finditer(text):
        start = match.start()
        head = _NAME_TAIL.search(text, max(end, start - _MAX_NAME), start)
        end = match.end()
        if head is None or head.start() == start:
            continue
        candidate = head.group() + match.group()
        # keep what follows the last particle: "小区旁的搅拌站" names the 搅拌站's place
        candidate = _NOT_NAME.split(candidate)[-1]
        for part in _INNER_BREAK.split(candidate):
            name = _GENERIC_PREFIX.sub("", part)
            core = _core(name)
            if len(core) >= _MIN_CORE and core not in GENERIC and core not in found:
                found.append(core)
    return found
