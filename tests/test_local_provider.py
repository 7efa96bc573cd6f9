import asyncio
import io

from PIL import Image

from generation.providers.base import Brief, CaptionRequest, ImageRequest
from generation.providers.local import LocalProvider, compose_caption
from shared.platforms import RULES

BRIEF = Brief(
    campaign_id=1,
    name="Summer Brew",
    brief="Launch our nitro cold brew for summer. Smooth and naturally sweet.",
    target_audience="busy commuters",
    tone="upbeat, friendly",
    language="en",
    keywords=("cold brew", "oat milk"),
    hashtags=("#BrewBetter",),
    call_to_action="Order today at brew.example",
    brand_color="#1F6F5C",
)


def test_a_batch_of_100_has_no_two_identical_captions():
    captions = [compose_caption(BRIEF, "instagram", variant, seed=7)[0] for variant in range(100)]
    assert len(set(captions)) == 100


def test_captions_use_the_brief():
    captions = [compose_caption(BRIEF, "linkedin", variant, seed=3)[0] for variant in range(24)]
    assert all("Order today at brew.example" in caption for caption in captions)
    assert all("busy commuters" in caption.lower() for caption in captions)
    assert any("cold brew" in caption.lower() for caption in captions)
    assert any("upbeat" in caption.lower() for caption in captions)
    # Different hooks open the posts.
    assert len({caption.split("\n")[0] for caption in captions}) >= 20


def test_images_are_drawn_at_each_platforms_size():
    provider = LocalProvider()
    for platform, rules in RULES.items():
        request = ImageRequest(
            brief=BRIEF,
            platform=platform,
            variant=1,
            seed=1,
            prompt="",
            headline="Cold brew, done right",
            width=rules.image_width,
            height=rules.image_height,
            orientation=rules.orientation,
        )
        result = asyncio.run(provider.image(request))
        image = Image.open(io.BytesIO(result.data))
        assert image.size == rules.image_size
        assert image.format == "JPEG"
        # The brand colour dominates the picture.
        r, g, b = image.convert("RGB").resize((1, 1)).getpixel((0, 0))
        assert g > r and g > b - 20


def test_caption_result_has_hashtags_including_the_campaigns():
    request = CaptionRequest(
        brief=BRIEF, platform="x", variant=3, seed=9, target_chars=240, limit_chars=280, max_hashtags=3
    )
    result = asyncio.run(LocalProvider().caption(request))
    assert result.hashtags[0] == "#BrewBetter"
    assert result.headline and result.image_prompt
