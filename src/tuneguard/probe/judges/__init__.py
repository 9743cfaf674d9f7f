"""Judges: decide from (prompt, response) whether a model refused, complied, or leaked something."""

from .base import JudgeResult, get_judge, judge_names, register_judge

__all__ = ["JudgeResult", "get_judge", "judge_names", "register_judge"]
