"""Normalisation and masking of personal data."""

import pytest

from triage.core.text import clean, mask, normalise, prepare


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("市民来电13812345678反映", "市民来电<mobile>反映"),
        ("联系电话：+86 138 1234 5678。", "联系电话：<mobile>。"),
        ("座机0757-83331234转分机", "座机<landline>转分机"),
        ("(0757)83331234", "<landline>"),
        ("身份证号440602198503120012，", "身份证号<id_number>，"),
        ("身份证44060219850312001X", "身份证<id_number>"),
        ("银行卡6222021234567890123被扣款", "银行卡<bank_card>被扣款"),
        ("卡号6222 0212 3456 7890", "卡号<bank_card>"),
        ("邮箱zhang.san@example.com联系", "邮箱<email>联系"),
        ("车牌粤E·12345乱停", "车牌<plate>乱停"),
        ("粤EF12345新能源", "<plate>新能源"),
        ("粤X-D12345", "<plate>"),
    ],
)
def test_each_kind_of_personal_data_is_masked(raw: str, masked: str) -> None:
    """Mobile, landline, ID number, bank card, e-mail and plate each become a typed token."""
    assert clean(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026年11月26日上午10点",
        "共计3000元押金",
        "工号12345678",
        "订单号202611261234567890123456",
        "123路公交车",
        "房号1201，面积89.5平方",
        "邮编528000",
        "京广线K123次",
        "版本号1.2.3.4",
    ],
)
def test_look_alikes_stay(text: str) -> None:
    """Dates, amounts, staff numbers, long order numbers and bus routes are not personal data."""
    assert mask(normalise(text)) == normalise(text)


def test_full_width_digits_cannot_hide_a_phone() -> None:
    """Full-width digits are normalised first, so the mobile pattern sees them."""
    assert clean("电话１３８１２３４５６７８") == "电话<mobile>"


def test_normalise_whitespace_and_controls() -> None:
    """Control characters go, runs of spaces collapse, line breaks stay single."""
    assert normalise("  小区\u200b噪音\t\t扰民\r\n\r\n请处理\x07 ") == "小区噪音 扰民\n请处理"


def test_full_width_ascii_becomes_ascii_but_chinese_punctuation_stays() -> None:
    """Ａ１ becomes A1; ，and （） are kept for the clause structure."""
    assert normalise("ＡＢＣ１２３，（备注）") == "ABC123，（备注）"


def test_prepare_masks_both_fields() -> None:
    """A ticket's title and body are both cleaned; a missing title is empty."""
    doc = prepare(None, "电话13812345678")
    assert (doc.title, doc.body) == ("", "电话<mobile>")
    assert prepare("回电13812345678", "x").title == "回电<mobile>"


def test_plate_with_few_digits_is_masked() -> None:
    """A plate with letters among its five characters (粤E·A1B23) is masked too."""
    assert clean("车牌粤E·A1B23") == "车牌<plate>"
