"""SMS sizing: GSM-7 versus UCS-2, segment boundaries, the extension table, transliteration."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cartera.messaging.sms import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    SmsInfo,
    sms_measure,
    sms_to_gsm7,
)


def test_plain_spanish_without_acute_accents_is_gsm7():
    info = sms_measure("Señor Muñoz: su factura vence el 23 de noviembre. ¿Dudas? ¡Llámenos!")
    # ñ, ¿ and ¡ are in the GSM-7 basic table; "á" of "Llámenos" is not.
    assert info.encoding == UCS2
    assert sms_measure("Señor Muñoz: su factura vence hoy. ¿Dudas? ¡Escribanos!").encoding == GSM7


def test_letters_with_accents_in_gsm7_and_those_without():
    for ch in "éùìòÇØøÅåÄÖÑÜ§¿äöñüàÉ":
        assert sms_measure(ch) == SmsInfo(GSM7, 1, 1), ch
    for ch in "áíóúÁÍÓÚ":
        assert sms_measure(ch).encoding == UCS2, ch


def test_gsm7_boundaries_160_then_153_per_segment():
    assert sms_measure("a" * 160) == SmsInfo(GSM7, 160, 1)
    assert sms_measure("a" * 161) == SmsInfo(GSM7, 161, 2)
    assert sms_measure("a" * 306) == SmsInfo(GSM7, 306, 2)
    assert sms_measure("a" * 307) == SmsInfo(GSM7, 307, 3)
    assert sms_measure("a" * 459) == SmsInfo(GSM7, 459, 3)
    assert sms_measure("a" * 460) == SmsInfo(GSM7, 460, 4)


def test_one_acute_accent_halves_the_segment():
    assert sms_measure("a" * 69 + "á") == SmsInfo(UCS2, 70, 1)
    assert sms_measure("a" * 70 + "á") == SmsInfo(UCS2, 71, 2)
    assert sms_measure("á" * 134) == SmsInfo(UCS2, 134, 2)
    assert sms_measure("á" * 135) == SmsInfo(UCS2, 135, 3)
    # A hundred characters: GSM-7 holds them in one segment; with one "á", UCS-2 needs two.
    assert sms_measure("a" * 100).segments == 1
    assert sms_measure("a" * 99 + "á").segments == 2


def test_extension_characters_count_twice():
    assert sms_measure("€") == SmsInfo(GSM7, 2, 1)
    assert sms_measure("a" * 158 + "€") == SmsInfo(GSM7, 160, 1)
    assert sms_measure("a" * 159 + "€") == SmsInfo(GSM7, 161, 2)
    assert sms_measure("[]{}~^|\\") == SmsInfo(GSM7, 16, 1)


def test_an_escape_pair_is_never_split_between_segments():
    # 152 septets then "€": the pair cannot start at septet 153, so it opens a second part.
    text = "a" * 152 + "€" + "a" * 152
    info = sms_measure(text)
    assert info.characters == 306
    assert info.segments == 3


def test_emoji_take_two_utf16_units():
    assert sms_measure("😀") == SmsInfo(UCS2, 2, 1)
    assert sms_measure("a" * 68 + "😀") == SmsInfo(UCS2, 70, 1)
    assert sms_measure("a" * 69 + "😀") == SmsInfo(UCS2, 71, 2)


def test_empty_text():
    assert sms_measure("") == SmsInfo(GSM7, 0, 0)


def test_transliteration_keeps_gsm7_letters_and_replaces_the_rest():
    text = "Señora Gómez: ¿pagó? Está en mora — “urgente” ñÑéÉüÜçÇ € 10…"
    assert sms_to_gsm7(text) == 'Señora Gomez: ¿pago? Esta en mora - "urgente" ñÑéÉüÜÇÇ € 10...'
    assert sms_measure(sms_to_gsm7(text)).encoding == GSM7
    assert sms_to_gsm7("Hola 😀 中") == "Hola ? ?"
    assert sms_to_gsm7("$\u00a01.234.567") == "$ 1.234.567"


@given(st.text(max_size=400))
def test_transliterated_text_is_always_gsm7(text):
    result = sms_to_gsm7(text)
    assert all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in result)
    assert sms_measure(result).encoding == GSM7


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), max_size=800))
def test_gsm7_segments_hold_at_most_153_septets(text):
    info = sms_measure(text)
    assert info.encoding == GSM7
    if info.characters <= 160:
        assert info.segments == (1 if text else 0)
    else:
        # Never fewer parts than the septets need, and at most one more per escape pair.
        assert info.segments >= -(-info.characters // 153)
        assert info.segments <= -(-info.characters // 152)
