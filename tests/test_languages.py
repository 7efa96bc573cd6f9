"""The local provider writes in the campaign's language, every language the form offers, without mixing."""

import dataclasses
import json
import re

import pytest

from generation.prompts import ANGLES
from generation.providers.base import Brief, CaptionRequest
from generation.providers.local import PHRASEBOOKS, PHRASES_DIR, _first_sentence, write_caption
from shared.languages import Language
from shared.platforms import RULES, TARGET_CAPTION_CHARS, fit_caption, full_length


def brief(language: str, name: str, text: str, audience: str, tone: str, keywords: list[str], cta: str) -> Brief:
    return Brief(
        campaign_id=1,
        name=name,
        brief=text,
        target_audience=audience,
        tone=tone,
        language=language,
        keywords=tuple(keywords),
        hashtags=(),
        call_to_action=cta,
        brand_color="#1F6F5C",
    )


# One campaign per language, written in that language, as a marketer would fill in the form.
BRIEFS = {
    "en": brief(
        "en",
        "Summer Cold Brew Launch",
        "Launch our nitro cold brew for summer. Smooth and naturally sweet.",
        "busy commuters",
        "upbeat, friendly",
        ["cold brew", "oat milk"],
        "Order today at brew.example",
    ),
    "es": brief(
        "es",
        "Lanzamiento Café Frío",
        "Lanzamos nuestro café frío para este verano. Suave y naturalmente dulce.",
        "jóvenes profesionales",
        "cercano, divertido",
        ["café frío", "leche de avena", "verano"],
        "Pídelo hoy en cafe.example",
    ),
    "fr": brief(
        "fr",
        "Été brûlant",
        "Notre café glacé arrive pour l'été. Doux et naturellement sucré.",
        "citadins pressés",
        "chaleureux, drôle",
        ["café glacé", "lait d'avoine"],
        "Commandez-le dès aujourd'hui sur cafe.example",
    ),
    "de": brief(
        "de",
        "Größe zeigen",
        "Unser neuer Eiskaffee kommt rechtzeitig zum Sommer. Mild und natürlich süß.",
        "Pendlerinnen und Pendler",
        "herzlich, locker",
        ["Eiskaffee", "Hafermilch"],
        "Jetzt bestellen unter kaffee.example",
    ),
    "it": brief(
        "it",
        "Estate al fresco",
        "Lanciamo il nostro caffè freddo per l'estate. Morbido e naturalmente dolce.",
        "giovani professionisti",
        "solare, simpatico",
        ["caffè freddo", "latte d'avena"],
        "Ordinalo oggi su caffe.example",
    ),
    "pt": brief(
        "pt",
        "Verão gelado",
        "Lançamos o nosso café gelado para o verão. Suave e naturalmente doce.",
        "jovens profissionais",
        "descontraído, alegre",
        ["café gelado", "leite de aveia"],
        "Peça hoje em cafe.example",
    ),
    "nl": brief(
        "nl",
        "Zomerse koffie",
        "We lanceren onze ijskoffie voor de zomer. Zacht en van nature zoet.",
        "drukke forenzen",
        "vrolijk, vriendelijk",
        ["ijskoffie", "havermelk"],
        "Bestel vandaag nog via koffie.example",
    ),
    "pl": brief(
        "pl",
        "Letnia kawa",
        "Wprowadzamy naszą kawę na zimno na lato. Łagodna i naturalnie słodka.",
        "zabiegani studenci",
        "ciepły, zabawny",
        ["kawa na zimno", "mleko owsiane"],
        "Zamów już dziś na kawa.example",
    ),
    "sv": brief(
        "sv",
        "Sommarkaffe",
        "Vi lanserar vårt kallbryggda kaffe till sommaren. Mjukt och naturligt sött.",
        "stressade pendlare",
        "glad, vänlig",
        ["kallbryggt kaffe", "havredryck"],
        "Beställ i dag på kaffe.example",
    ),
    "ja": brief(
        "ja",
        "夏のコールドブリュー",
        "この夏、新しいコールドブリューが登場します。なめらかで、自然な甘さです。",
        "忙しい通勤者",
        "明るい、親しみやすい",
        ["コールドブリュー", "オーツミルク", "夏"],
        "今すぐ公式サイトで注文を。",
    ),
}

# Every variant below this shares no (angle, hook, closing) with another: the whole phrasebook.
ALL_COMBINATIONS = len(ANGLES) * 4 * 5
KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{\w+\}")


def english_scaffolding() -> set[str]:
    """Every run of two or more words our English phrases put around the brief's words, plus the classics."""
    english = json.loads((PHRASES_DIR / "en.json").read_text(encoding="utf-8"))
    templates = [hook for group in english["hooks"] for hook in group]
    templates += english["tones"] + english["closers"] + english["closers_without_audience"] + [english["more"]]
    fragments = {"made for", "done right", "this one's for you", "don't miss", "also on the menu", "people like you"}
    for template in templates:
        for fragment in PLACEHOLDER.split(template):
            words = re.sub(r"[^\w' -]", " ", fragment).split()
            if len(words) >= 2:
                fragments.add(" ".join(words).lower())
    return fragments


def requests_for(campaign: Brief, platform: str, count: int):
    rules = RULES[platform]
    for variant in range(count):
        yield CaptionRequest(
            brief=campaign,
            platform=platform,
            variant=variant,
            seed=1000 + variant // 2,  # the keyword rotates with variant + seed
            target_chars=TARGET_CAPTION_CHARS[platform],
            limit_chars=rules.caption_limit,
            max_hashtags=rules.max_hashtags,
        )


def without_the_briefs_words(text: str, campaign: Brief) -> str:
    for own in (campaign.name, campaign.call_to_action, *campaign.keywords, *campaign.hashtags):
        text = text.replace(own, " ")
    return text


def test_every_language_the_form_offers_has_its_phrasebook_and_a_test_campaign():
    assert set(PHRASEBOOKS) == set(Language.values) == set(BRIEFS)
    for code, book in PHRASEBOOKS.items():
        assert book.language == code
        assert len(book.hooks) == len(ANGLES)
        assert all(len(group) == 4 for group in book.hooks) and len(book.closers) == 5


def test_the_english_scaffolding_list_is_what_english_posts_are_made_of():
    # The check below must be able to fail: English posts are full of these words.
    scaffolding = english_scaffolding()
    assert len(scaffolding) > 40
    captions = [write_caption(request).caption.lower() for request in requests_for(BRIEFS["en"], "instagram", 48)]
    assert all(any(fragment in caption for fragment in scaffolding) for caption in captions)


@pytest.mark.parametrize("language", [code for code in Language.values if code != "en"])
@pytest.mark.parametrize("with_audience", [True, False], ids=["audience", "no-audience"])
def test_posts_in_every_language_fit_every_platform_and_never_mix_in_english(language, with_audience):
    campaign = BRIEFS[language]
    if not with_audience:
        campaign = dataclasses.replace(campaign, target_audience="")
    scaffolding = english_scaffolding()
    for platform, rules in RULES.items():
        captions = set()
        for request in requests_for(campaign, platform, ALL_COMBINATIONS):
            result = write_caption(request)
            caption, headline = result.caption, result.headline
            captions.add(caption)
            # It fits as written: the runner's fitting has nothing to cut, hashtags included.
            hashtags = list(campaign.hashtags) + [tag for tag in result.hashtags if tag not in campaign.hashtags]
            fitted, kept = fit_caption(caption, hashtags, platform)
            assert fitted == caption
            assert full_length(fitted, kept) <= rules.caption_limit
            assert campaign.call_to_action in caption
            # Every placeholder filled; no English words around the brief's own.
            for text in (caption, headline):
                assert not PLACEHOLDER.search(text), text
                own_words_removed = without_the_briefs_words(text, campaign).lower()
                mixed = [fragment for fragment in scaffolding if fragment in own_words_removed]
                assert not mixed, f"{language}/{platform}: {mixed} in {text!r}"
            if language == "ja":
                assert KANA_OR_KANJI.search(caption) and KANA_OR_KANJI.search(headline)
                # No Latin letters but the ones the marketer typed, and Japanese full stops, not ". ".
                assert not re.search(r"[A-Za-z]", without_the_briefs_words(caption + headline, campaign)), caption
                assert ". " not in caption
        # Different posts, not the same few repeated.
        assert len(captions) >= ALL_COMBINATIONS * 0.9, (platform, len(captions))


def test_japanese_posts_read_as_japanese():
    campaign = BRIEFS["ja"]
    result = write_caption(next(requests_for(campaign, "x", 1)))
    # No spaces between the sentences, which end with 。 (an emoji may open the post).
    body = result.caption.split(" ", 1)[-1]
    assert " " not in body
    assert "この夏、新しいコールドブリューが登場します。" in body
    assert "なめらかで" not in body  # only the brief's first sentence
    assert result.hashtags[:3] == ["#コールドブリュー", "#オーツミルク", "#夏"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("この夏、新発売。なめらかです。", "この夏、新発売。"),
        ("「最高！」と話題です。次の文。", "「最高！」と話題です。"),
        ("本当に？はい。", "本当に？"),
        ("Launch our brew.example site today. Then more.", "Launch our brew.example site today."),
        ("¿Listo? Vamos.", "¿Listo?"),
    ],
)
def test_the_first_sentence_ends_where_the_language_ends_it(text, first):
    assert _first_sentence(text) == first


def test_a_long_japanese_brief_is_cut_between_characters_to_fit_x():
    campaign = dataclasses.replace(BRIEFS["ja"], brief="とても" * 120 + "おいしい。")
    for request in requests_for(campaign, "x", 24):
        result = write_caption(request)
        fitted, _ = fit_caption(result.caption, list(result.hashtags), "x")
        assert fitted == result.caption
        assert "とてもとても" in result.caption and "…" in result.caption


def test_hashtags_come_from_the_keywords_in_their_own_script():
    result = write_caption(next(requests_for(BRIEFS["es"], "instagram", 1)))
    assert result.hashtags == ["#CaféFrío", "#LecheDeAvena", "#Verano", "#LanzamientoCaféFrío"]


@pytest.mark.parametrize("language", ["de", "fr"])
def test_on_x_the_tone_and_closing_make_room_for_the_briefs_sentence(language):
    sentence = {
        "de": "Unser neuer Eiskaffee wird zwölf Stunden kalt gebrüht und schmeckt mild, rund und natürlich süß.",
        "fr": "Notre nouveau café glacé infuse à froid pendant douze heures pour un goût doux, rond et naturel.",
    }[language]
    campaign = dataclasses.replace(BRIEFS[language], brief=sentence + " Encore une phrase.")
    for request in requests_for(campaign, "x", 48):
        result = write_caption(request)
        assert sentence in result.caption
        assert campaign.call_to_action in result.caption
        fitted, kept = fit_caption(result.caption, list(result.hashtags), "x")
        assert fitted == result.caption and full_length(fitted, kept) <= 280


def test_a_dutch_ij_is_capitalised_as_one_letter():
    captions = [write_caption(request).caption for request in requests_for(BRIEFS["nl"], "facebook", 48)]
    assert any("IJskoffie" in caption for caption in captions)
    assert not any("Ijskoffie" in caption for caption in captions)
