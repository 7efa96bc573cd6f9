"""python -m tests.fake_openai --port 8765 --rpm 120: the fake server alone, until Ctrl-C."""

import argparse
import contextlib

from tests.fake_openai.config import IMAGE_RESPONSES, Config
from tests.fake_openai.server import FakeOpenAIServer


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--text-latency", type=float, default=0.0)
    parser.add_argument("--image-latency", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--image-response", choices=IMAGE_RESPONSES, default="b64")
    parser.add_argument("--batch-stage-seconds", type=float, default=1.0)
    args = parser.parse_args()
    config = Config(
        text_latency=args.text_latency,
        image_latency=args.image_latency,
        rpm=args.rpm,
        fault_rate=args.fault_rate,
        image_response=args.image_response,
        batch_stage_seconds=args.batch_stage_seconds,
    )
    server = FakeOpenAIServer(config, port=args.port)
    print(f"fake OpenAI server on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.httpd.serve_forever()


if __name__ == "__main__":
    main()
