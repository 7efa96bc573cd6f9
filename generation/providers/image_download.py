"""Images that a provider answers with a URL: fetched at once, checked, and kept as bytes.

OpenAI's DALL·E models and many compatible servers answer an image request with a URL unless
asked for base64. The engine downloads it with httpx (the HTTP stack the openai SDK runs on),
in its own client: the provider's key is never sent to an image host. The URL is used once and
never stored or logged whole (it may carry a signature).

What is accepted: https from any host; http only from the host of OPENAI_BASE_URL, where a
self-hosted server lives. A download is bounded by a timeout and a size cap, and its bytes must
open in Pillow. A failed download is transient, like any network fault: the image is asked for
again.
"""

import asyncio
import io
import ssl
from urllib.parse import urlsplit

import httpx
from PIL import Image

from generation.providers.base import FailureReason, PermanentProviderError, TransientProviderError

# Redirects are followed (signed storage URLs often redirect), each hop checked like the first.
MAX_REDIRECTS = 3


class ImageDownloader:
    def __init__(
        self, *, base_url: str | None, timeout: float, max_bytes: int, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.http_host = urlsplit(base_url).hostname if base_url else None
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            verify=verify,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            event_hooks={"request": [self._check_request]},
        )

    def check_url(self, url: str) -> None:
        """Refuse a URL the engine must not fetch: PermanentProviderError (asking again gives another such URL)."""
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname and parts.hostname == self.http_host:
            return
        where = f"{parts.scheme}://{parts.hostname or ''}"
        raise PermanentProviderError(
            f"the provider's image URL ({where}) is neither https nor on the host of OPENAI_BASE_URL",
            code=FailureReason.MALFORMED,
        )

    async def _check_request(self, request: httpx.Request) -> None:
        self.check_url(str(request.url))

    async def fetch(self, url: str) -> bytes:
        """The image's bytes, checked to open in Pillow."""
        self.check_url(url)
        host = urlsplit(url).hostname
        try:
            data = await asyncio.wait_for(self._read(url), timeout=self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            # Before TransportError, of which httpx's TimeoutException is a kind.
            raise TransientProviderError(
                f"the image download from {host} timed out", code=FailureReason.TIMEOUT
            ) from None
        except httpx.TransportError as exc:
            raise TransientProviderError(
                f"the image download from {host} failed ({type(exc).__name__})", code=FailureReason.CONNECTION
            ) from None
        except httpx.TooManyRedirects:
            raise TransientProviderError(
                f"the image download from {host} redirected too often", code=FailureReason.SERVER_ERROR
            ) from None
        await asyncio.to_thread(_check_opens, data, host)
        return data

    async def _read(self, url: str) -> bytes:
        host = urlsplit(url).hostname
        async with self.client.stream("GET", url) as response:
            if response.status_code != 200:
                raise TransientProviderError(
                    f"the image download from {host} answered HTTP {response.status_code}",
                    code=FailureReason.SERVER_ERROR,
                    status=response.status_code,
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large(host)
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large(host)
                chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, host: str | None) -> TransientProviderError:
        return TransientProviderError(
            f"the image from {host} is larger than {self.max_bytes // (1024 * 1024)} MB", code=FailureReason.MALFORMED
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _check_opens(data: bytes, host: str | None) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception as exc:  # Pillow raises many kinds for bytes that are not an image
        raise TransientProviderError(
            f"the download from {host} is not an image Pillow can open ({type(exc).__name__})",
            code=FailureReason.MALFORMED,
        ) from None
