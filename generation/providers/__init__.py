from generation.config import EngineConfig
from generation.providers.base import Provider


def build_provider(config: EngineConfig) -> Provider:
    """The provider named by GENERATION_PROVIDER."""
    if config.provider == "openai":
        from generation.providers.openai_api import OpenAIProvider

        return OpenAIProvider(config)
    from generation.providers.local import LocalProvider

    return LocalProvider()
