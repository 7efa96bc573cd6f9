"""Tables (terminal and Markdown), the JSON record of a run, and the scenario 1 plot."""

import json
import os
import platform
import subprocess
from pathlib import Path

from bench.scenarios import IDEAL_FORMULA, REFERENCE_POSTS_PER_MINUTE, REFERENCE_SECONDS


def _num(value, spec: str = ".1f", empty: str = "–") -> str:
    return empty if value is None else format(value, spec)


COLUMNS = [
    ("scenario", lambda r: r["scenario"]),
    ("posts", lambda r: str(r["posts"])),
    ("workers", lambda r: str(r["workers"])),
    ("conc.", lambda r: str(r["concurrency"])),
    (
        "latency text/image s",
        lambda r: "local" if r["provider"] == "local" else f"{r['text_latency']:g}/{r['image_latency']:g}",
    ),
    ("rate limit", lambda r: f"{r['rpm']}/min" if r["rpm"] else "none"),
    ("seconds", lambda r: _num(r["seconds"])),
    ("posts/min", lambda r: _num(r["posts_per_minute"], ".0f")),
    ("ideal s", lambda r: _num(r["ideal_seconds"])),
    ("ratio", lambda r: _num(r["ratio"], ".2f")),
    ("429s", lambda r: str(r["http_429"])),
    ("failed", lambda r: str(r["failed"])),
    ("worker CPU ms/post", lambda r: _num(r.get("cpu_ms_per_post"), ".1f")),
    ("peak RSS MB", lambda r: _num(r["peak_rss_mb"], ".0f")),
    ("RSS growth MB", lambda r: _num(r["rss_growth_mb"], ".1f")),
    ("peak PG conns", lambda r: str(r["peak_pg_connections"])),
    ("reference s", lambda r: _num(r["reference_seconds"], ".0f")),
    ("load 1 min", lambda r: f"{r['load_before'][0]:.1f}→{r['load_after'][0]:.1f}"),
    ("targets", lambda r: targets_text(r)),
]


def targets_text(row: dict) -> str:
    if not row.get("targets"):
        return ""
    return ", ".join(f"{'ok' if t['met'] else 'MISSED'} {t['label']} ({t['value']})" for t in row["targets"])


def text_table(rows: list[dict], columns=COLUMNS) -> str:
    cells = [[name for name, _ in columns]] + [[render(row) for _, render in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict], columns=COLUMNS) -> str:
    header = "| " + " | ".join(name for name, _ in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(render(row) for _, render in columns) + " |" for row in rows]
    return "\n".join([header, rule, *body])


WEB_COLUMNS = [
    ("page", lambda r: r["page"]),
    ("posts in campaign", lambda r: f"{r['posts']:,}"),
    ("concurrency", lambda r: str(r["concurrency"])),
    ("tool", lambda r: r["tool"]),
    ("requests", lambda r: str(r["requests"])),
    ("errors", lambda r: str(r["errors"])),
    ("req/s", lambda r: _num(r["requests_per_second"], ".0f")),
    ("p50 ms", lambda r: _num(r["p50_ms"], ".1f")),
    ("p95 ms", lambda r: _num(r["p95_ms"], ".1f")),
    ("p99 ms", lambda r: _num(r["p99_ms"], ".1f")),
    ("p95 ms of each round", lambda r: " / ".join(_num(x["p95"], ".1f") for x in r.get("rounds", []))),
    ("queries/request", lambda r: str(r["queries"])),
    ("targets", lambda r: targets_text(r)),
]


def reference_table(rows: list[dict]) -> str:
    """The reference system's published table beside ours, for the batch sizes scenario 1 ran."""
    ours = {row["posts"]: row for row in rows if row["group"] == "reference" and row["seconds"]}
    lines = [
        "| posts | reference (FastAPI, asyncio semaphore) | posts/min | ours | posts/min | faster |",
        "|---|---|---|---|---|---|",
    ]
    for posts, seconds in REFERENCE_SECONDS.items():
        row = ours.get(posts)
        mine = (
            f"{row['seconds']:.1f} s | {row['posts_per_minute']:.0f} | {seconds / row['seconds']:.0f}×"
            if row
            else "– | – | –"
        )
        lines.append(f"| {posts} | {seconds:.0f} s | {posts * 60 / seconds:.1f} | {mine} |")
    return "\n".join(lines)


def machine_info(*, database_version: str, redis_version: str) -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        import psutil

        memory = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory,
        "python": platform.python_version(),
        "postgresql": database_version,
        "redis": redis_version,
        "platform": platform.platform(),
        "commit": commit,
    }


def write_results(output: Path, record: dict) -> tuple[Path, Path]:
    output.mkdir(parents=True, exist_ok=True)
    json_path = output / "results.json"
    json_path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    md_path = output / "results.md"
    md_path.write_text(markdown_record(record))
    return json_path, md_path


RESULTS_START = "<!-- bench:results:start (written by python -m bench.generation --publish) -->"
RESULTS_END = "<!-- bench:results:end -->"


def publish(record: dict, document: Path) -> None:
    """Replace the results block of BENCHMARKS.md with this run's."""
    text = document.read_text()
    if RESULTS_START not in text or RESULTS_END not in text:
        raise SystemExit(f"{document} has no results block ({RESULTS_START} ... {RESULTS_END})")
    before, rest = text.split(RESULTS_START, 1)
    _, after = rest.split(RESULTS_END, 1)
    document.write_text(f"{before}{RESULTS_START}\n{markdown_record(record)}{RESULTS_END}{after}")


def markdown_record(record: dict) -> str:
    machine = record["machine"]
    load = record["load"]
    parts = [
        f"Command: `{record['command']}`  ",
        f"Run at {record['started_at']} (commit {machine.get('commit') or '?'}), "
        f"{record['total_seconds']:.0f} s in all.",
        "",
        f"Machine: {machine['cpus']} × {machine['cpu_model']}, {machine['memory_gb']} GB RAM; "
        f"Python {machine['python']}; {machine['postgresql']}; Redis {machine['redis']}.  ",
        f"Load averages (1/5/15 min): before {fmt_load(load['before'])}, after {fmt_load(load['after'])}.",
        "",
        f"Ideal time: `{IDEAL_FORMULA}`.",
        "",
        markdown_table(record["rows"]),
        "",
    ]
    if any(row["group"] == "reference" for row in record["rows"]):
        parts += ["Scenario 1 beside the reference system's published table:", "", reference_table(record["rows"]), ""]
    if record.get("web"):
        parts += ["Web (gunicorn):", "", markdown_table(record["web"], WEB_COLUMNS), ""]
    if record.get("web_skipped"):
        parts += [f"Web benchmark skipped: {record['web_skipped']}", ""]
    return "\n".join(parts)


def fmt_load(load) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def plot_reference(rows: list[dict], path: Path) -> Path | None:
    """Posts completed over time, ours (one line per batch size) against the reference's ~16 posts/min.

    Left: the reference's whole time scale. Right: the first seconds, where ours happen, with the
    ideal (every post done one provider latency after it could start) dotted.
    """
    ours = sorted(
        (row for row in rows if row["group"] == "reference" and row.get("completions")), key=lambda r: r["posts"]
    )
    if not ours:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (wide, close) = plt.subplots(1, 2, figsize=(12, 5.2), dpi=110, gridspec_kw={"width_ratios": [3, 2]})
    rate = REFERENCE_POSTS_PER_MINUTE / 60
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    latest = max(row["seconds"] for row in ours)
    zoom = max(latest * 1.15, 10)
    for axes, horizon in ((wide, max(REFERENCE_SECONDS.values()) * 1.05), (close, zoom)):
        for color, row in zip(colors, ours, strict=False):
            times = [0.0, *row["completions"]]
            axes.step(
                times,
                range(len(times)),
                where="post",
                linewidth=2,
                color=color,
                label=f"ours: {row['posts']} posts in {row['seconds']:.1f} s",
            )
        axes.plot([0, horizon], [0, rate * horizon], "--", color="grey", label="reference: ~16 posts/min")
        axes.set_xlim(0, horizon)
        axes.set_ylim(0, 110)
        axes.set_xlabel("seconds since the batch was created")
        axes.grid(alpha=0.3)
    for posts, seconds in REFERENCE_SECONDS.items():
        wide.plot([seconds], [posts], "o", color="grey")
        wide.annotate(
            f"reference: {posts} in {seconds:.0f} s",
            (seconds, posts),
            textcoords="offset points",
            xytext=(-10, 8),
            ha="right",
            fontsize=8,
            color="dimgrey",
        )
    for color, row in zip(colors, ours, strict=False):
        slots = row["workers"] * row["concurrency"]
        latency = row["text_latency"] + row["image_latency"]
        ideal = [0.0] + [latency * (index // slots + 1) for index in range(row["posts"])]
        close.step(ideal, range(len(ideal)), where="post", linestyle=":", linewidth=1.5, color=color)
    close.plot([], [], ":", color="black", label="ideal for the concurrency")
    wide.set_ylabel("posts completed")
    wide.set_title("The reference's time scale", fontsize=10)
    close.set_title(f"The first {zoom:.0f} s", fontsize=10)
    wide.legend(loc="lower right", fontsize=8)
    close.legend(loc="upper left", fontsize=8)
    first = ours[0]
    figure.suptitle(
        f"Scenario 1: posts completed over time ({first['text_latency']:g} s text + {first['image_latency']:g} s "
        f"image per post; {first['workers']} workers × {first['concurrency']} in flight)",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
