"""The benchmark's output: ``results.json``, ``results.md`` (tables) and ``ratios.png`` (chart)."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.seed import SeedSize

#: ``make bench``'s defaults: a run with less is a smoke run, and its report says so.
FULL_ROUNDS = 3
FULL_SEED = SeedSize(users=10_000, posts=100_000, orders=20_000)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607 - wrk from PATH
    return {
        "cpu": model or platform.processor(),
        "cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
    }


def collect(
    args: argparse.Namespace, size: SeedSize, configurations: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "threads": args.threads,
            "connections": args.connections,
            "seed": asdict(size),
            "accounts": args.accounts,
            "backlog": args.backlog,
        },
        "wall_seconds": round(seconds, 1),
        "configurations": configurations,
    }


def ratio_of(scenario: dict[str, Any], hashing: dict[str, Any]) -> float:
    """The scenario's ratio: to the baseline, or (registration, login) to the hashing bound."""
    if scenario["reference"] == "hashing":
        return float(scenario["service"]["rate"]) / float(hashing["bound_per_s"])
    return float(scenario.get("ratio", 0.0))


def _verdict(value: float, target: float | None, *, at_most: bool = False) -> str:
    if target is None:
        return "-"
    return "met" if (value <= target if at_most else value >= target) else "**missed**"


def _scenario_rows(configuration: dict[str, Any]) -> list[str]:
    hashing = configuration["hashing"]
    rows = []
    for scenario in configuration.get("scenarios", {}).values():
        service = scenario["service"]
        ratio = ratio_of(scenario, hashing)
        if scenario["reference"] == "hashing":
            reference = f"{hashing['bound_per_s']:,.0f} (hashing bound)"
            cpu = f"{service['cpu_ms_per_request']:.2f}"
        else:
            baseline = scenario["baseline"]
            reference = f"{baseline['rate']:,.0f} ±{baseline['rate_spread']:.0%}"
            cpu = f"{service['cpu_ms_per_request']:.2f} / {baseline['cpu_ms_per_request']:.2f}"
        target = scenario["target"]
        failed = f" ({service['failed_requests']} failed)" if service["failed_requests"] else ""
        rows.append(
            f"| {scenario['label']} | {service['rate']:,.0f} ±{service['rate_spread']:.0%}{failed} | {reference} "
            f"| {ratio:.2f} | {'-' if target is None else f'>= {target}'} | {_verdict(ratio, target)} "
            f"| {service['p50_ms']:.1f} / {service['p99_ms']:.1f} / {service['p999_ms']:.1f} | {cpu} "
            f"| {service['rss_mib']:.0f} |"
        )
    return rows


def _configuration_section(configuration: dict[str, Any], level: int) -> list[str]:
    workers = configuration["workers"]
    hashing = configuration["hashing"]
    lines = [
        f"{'#' * (level + 1)} {workers} worker{'s' if workers > 1 else ''}",
        "",
        (
            f"Hashing bound: {hashing['cores']} cores x 1000 / {hashing['verify_ms']:.1f} ms of CPU per argon2id "
            f"verification ({hashing['verify_wall_ms']:.1f} ms wall-clock) = {hashing['bound_per_s']:.1f}/s; "
            f"one verification per core at once: {hashing.get('verify_cpu_ms_concurrent', 0.0):.1f} ms of CPU each."
        ),
        "",
        (
            "| Scenario | Service req/s | Reference req/s | Ratio | Target (1 worker) | | p50 / p99 / p99.9 ms "
            "| CPU ms/req (service / baseline) | RSS MiB |"
        ),
        "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |",
        *_scenario_rows(configuration),
        "",
    ]
    if "flood" in configuration:
        flood = configuration["flood"]
        lines.append(
            f"GET /users/{{id}} p99 alone {flood['idle']['p99_ms']:.1f} ms, during a login flood "
            f"({flood['login_rate']:.0f} logins/s) {flood['during']['p99_ms']:.1f} ms: "
            f"{flood['p99_ratio']:.1f}x (target <= {flood['target']:.0f}x: "
            f"{_verdict(flood['p99_ratio'], flood['target'], at_most=True)})."
        )
    if "worker" in configuration:
        worker = configuration["worker"]
        lines.append(
            f"Worker: {worker['confirmed']:,} of a backlog of {worker['backlog']:,} confirmed in "
            f"{worker['seconds']:.1f} s by {worker['processes']} process(es): {worker['rate']:,.0f} orders/s "
            f"({worker['per_process']:,.0f} per process, target >= {worker['target']:.0f} on 1: "
            f"{_verdict(worker['per_process'], worker['target'])}), {worker['cpu_ms_per_order']:.2f} ms CPU per order."
        )
    for service, memory in configuration.get("memory", {}).items():
        lines.append(
            f"Memory, {service} API: {memory['rss_first_mib']:.0f} MiB after {memory['requests_first']:,} requests, "
            f"{memory['rss_total_mib']:.0f} MiB after {memory['requests_total']:,} ({memory['growth']:+.1%}, "
            f"target within 10%: {_verdict(memory['growth'], 0.10, at_most=True)})."
        )
    return [*lines, ""]


def _is_smoke(results: dict[str, Any]) -> bool:
    settings = results["settings"]
    return bool(settings["rounds"] < FULL_ROUNDS or settings["seed"] != asdict(FULL_SEED))


def markdown(results: dict[str, Any], level: int = 2) -> str:
    """The results as Markdown, headings from ``level`` down."""
    host = results["machine"]
    settings = results["settings"]
    lines = [
        f"{'#' * level} Benchmark results",
        "",
        (
            f"{results['date']}, {host['cpu']}, {host['cores']} cores, {host['memory_gib']} GiB, {host['os']}, "
            f"Python {host['python']}, {host['wrk']}. Rounds of {settings['seconds']:g} s, {settings['rounds']} "
            f"per scenario (median, ± spread = (max - min) / median), wrk -t{settings['threads']} "
            f"-c{settings['connections']} (hashing scenarios -c8); seeded {settings['seed']['users']:,} users, "
            f"{settings['seed']['posts']:,} posts, {settings['seed']['orders']:,} orders. Ratio: service / "
            "framework-free baseline, median of the rounds' ratios (registration and login: / hashing bound)."
        ),
        "",
    ]
    if _is_smoke(results):
        lines += [
            (
                "**A smoke run (fewer rounds or seeded rows than `make bench`'s defaults): it shows the harness"
                " works, its numbers measure nothing.**"
            ),
            "",
        ]
    for configuration in results["configurations"]:
        lines += _configuration_section(configuration, level)
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    """Horizontal bars: each scenario's ratio, per worker count, with its target marked."""
    import matplotlib as mpl  # noqa: PLC0415 - heavy, and only needed here

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    configurations = results["configurations"]
    names = list(configurations[0].get("scenarios", {}))
    labels = [configurations[0]["scenarios"][name]["label"] for name in names]
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(names) + 1.5))
    height = 0.8 / max(1, len(configurations))
    for index, configuration in enumerate(configurations):
        ratios = [ratio_of(configuration["scenarios"][n], configuration["hashing"]) for n in names]
        positions = [row - 0.4 + (index + 0.5) * height for row in range(len(names))]
        axes.barh(positions, ratios, height=height, label=f"{configuration['workers']} worker(s)")
    for row, name in enumerate(names):
        target = configurations[0]["scenarios"][name]["target"]
        if target is not None:
            axes.plot([target, target], [row - 0.45, row + 0.45], color="black", linewidth=2)
    axes.set_yticks(list(range(len(names))), labels)
    axes.invert_yaxis()
    axes.set_xlabel("ratio to the framework-free baseline (registration, login: to the hashing bound); | target")
    host = results["machine"]
    smoke = " - SMOKE RUN, not a measurement" if _is_smoke(results) else ""
    axes.set_title(f"{host['cpu']}, {host['cores']} cores, {results['date'][:10]}{smoke}", fontsize=9)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


README_START = "<!-- bench-results:start -->"
README_END = "<!-- bench-results:end -->"


def update_readme(results: dict[str, Any], readme: Path) -> None:
    """Put the results between the README's markers (the section stays true after each run)."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(f"{text[:start]}\n{markdown(results, level=3)}\n{text[end:]}", encoding="utf-8")


def write(results: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for configuration in results["configurations"]:
        configuration.get("hashing", {}).pop("hash", None)
    (directory / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (directory / "results.md").write_text(markdown(results) + "\n", encoding="utf-8")
    if any(configuration.get("scenarios") for configuration in results["configurations"]):
        chart(results, directory / "ratios.png")
