"""Overhead of tuneguard.train.AuditCallback on real TRL SFT + LoRA steps (goal: <= 2% of step time).

One training run on the embedded SmolLM2-135M: the callback is switched on and off in alternating
blocks of steps (same process, same data, same warm caches), and, separately, the time spent
inside the callback's own hooks is measured directly on the "on" steps. The direct figure is the
precise one; the A/B medians show that nothing outside the hooks (the audit hook on every Python
audit event, psutil) adds cost either.

With --demo N it instead times a whole `tuneguard train` run (defaults: 1 epoch, batch 8, no probes,
32 extraction samples) on N synthetic support chats: the "demo data trains in <= 5 minutes" goal.

Run: .venv/bin/python bench/train_monitor.py [--steps 24] [--block 2] [--batch-size 8] [--demo 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def chats(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    things = ["router", "printer", "laptop", "phone", "monitor", "camera"]
    fixes = [
        "Restart it and update the firmware.",
        "Try another cable and charger.",
        "Hold the power button for ten seconds.",
        "Free some storage and install updates.",
    ]
    return [
        {
            "messages": [
                {"role": "user", "content": f"My {rng.choice(things)} has a problem (ticket {i})."},
                {"role": "assistant", "content": rng.choice(fixes)},
            ]
        }
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--block", type=int, default=2, help="steps per on/off block")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--demo", type=int, default=0, help="time a full run on this many records instead")
    args = parser.parse_args()
    if args.demo:
        demo(args.demo)
        return

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from tuneguard.core import materialize_model
    from tuneguard.train import AuditCallback
    from tuneguard.train.environment import cpu_threads

    torch.set_num_threads(cpu_threads())
    audit = AuditCallback(record_result=False)

    class Toggle(TrainerCallback):
        """Times every loop iteration; forwards events to the AuditCallback only on 'on' blocks."""

        def __init__(self) -> None:
            self.on = False
            self.inside = 0.0
            self.rows: list[tuple[bool, float, float]] = []  # (on, step seconds, seconds inside hooks)
            self._start = None

        def _forward(self, name, *a, **k):
            if self.on:
                t = time.perf_counter()
                getattr(audit, name)(*a, **k)
                self.inside += time.perf_counter() - t

        def on_train_begin(self, *a, **k):
            audit.network.start()  # network auditing on for the whole run, as in tuneguard train
            self._forward("on_train_begin", *a, **k)

        def on_step_begin(self, a, state, c, **k):
            now = time.perf_counter()
            if self._start is not None and state.global_step > 1:  # step 1 pays one-off warm-up
                self.rows.append((self.on, now - self._start, self.inside))
            self.on = (state.global_step // args.block) % 2 == 1
            self.inside = 0.0
            self._start = now
            self._forward("on_step_begin", a, state, c, **k)

        def on_step_end(self, *a, **k):
            self._forward("on_step_end", *a, **k)

        def on_log(self, *a, **k):
            self._forward("on_log", *a, **k)

    folder = materialize_model("embedded")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    toggle = Toggle()
    config = SFTConfig(
        output_dir="/tmp/tuneguard-bench-train",
        max_steps=args.steps + 1,
        logging_steps=1,
        per_device_train_batch_size=args.batch_size,
        save_strategy="no",
        report_to=[],
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        disable_tqdm=True,
        max_length=256,
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(chats(args.batch_size * 40)),
        processing_class=tok,
        callbacks=[toggle],
        peft_config=LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM", target_modules="all-linear"),
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    audit.network.stop()

    on = [r for r in toggle.rows if r[0]]
    off = [r for r in toggle.rows if not r[0]]
    on_med, off_med = statistics.median(r[1] for r in on), statistics.median(r[1] for r in off)
    inside = statistics.fmean(r[2] for r in on)
    direct = inside / on_med
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"torch threads {torch.get_num_threads()}; steps {len(toggle.rows)} (batch {args.batch_size})"
    )
    print(f"{'measure':<40}{'value':>14}")
    print(f"{'median step, callback off (s)':<40}{off_med:>14.3f}")
    print(f"{'median step, callback on (s)':<40}{on_med:>14.3f}")
    print(f"{'A/B ratio on/off':<40}{on_med / off_med:>14.3f}")
    print(f"{'time inside callback per step (ms)':<40}{inside * 1e3:>14.3f}")
    print(f"{'direct overhead (% of step)':<40}{direct * 100:>14.4f}")
    print(f"{'goal':<40}{'<= 2 %':>14}")
    print(f"network attempts seen: {len(audit.network.attempts)}; anomalies: {len(audit.findings)}")


def demo(records: int) -> None:
    import tempfile
    from pathlib import Path

    import orjson

    from tuneguard.train.sft import TrainOptions, run_training

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNEGUARD_HOME"] = str(Path(tmp) / "home")
        data = Path(tmp) / "demo.jsonl"
        data.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in chats(records)))
        start = time.perf_counter()
        run = run_training(
            TrainOptions(data=data, output=Path(tmp) / "adapter", allow_ungated=True, probe=False)
        )
        total = time.perf_counter() - start
    t = run["training"]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"torch threads {run['threads']}"
    )
    print(f"{'measure':<40}{'value':>14}")
    print(f"{'records':<40}{records:>14}")
    print(f"{'optimizer steps (batch 8, 1 epoch)':<40}{t['steps']:>14}")
    print(f"{'seconds per step':<40}{t['seconds_per_step']:>14.2f}")
    print(f"{'training seconds':<40}{t['train_seconds']:>14.1f}")
    print(f"{'whole run incl. load, extraction (s)':<40}{total:>14.1f}")
    print(f"{'goal (s)':<40}{300:>14}")


if __name__ == "__main__":
    main()
