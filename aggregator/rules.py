"""Include and exclude rules, from the top of feeds.yaml (every source) and from each source.

A keyword rule matches at the start of a word in the folded text that story matching uses
(case, Dari and Pashto letter forms, Persian digits and marks all folded), so "کابل" finds
"كابل" and "۲۰۲۶" finds "2026"; a `/regex/` rule is searched in the text as written and folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aggregator.matchtext import fold
from aggregator.models import Entry


def is_regex(rule: str) -> bool:
    return len(rule) > 2 and rule.startswith("/") and rule.endswith("/")


@dataclass(frozen=True)
class Rule:
    text: str  # as the editor wrote it
    pattern: re.Pattern[str]
    regex: bool

    def matches(self, text: str, folded: str) -> bool:
        if self.regex:
            return bool(self.pattern.search(text) or self.pattern.search(folded))
        return bool(self.pattern.search(folded))


def compile_rule(rule: str) -> Rule:
    if is_regex(rule):
        return Rule(rule, re.compile(rule[1:-1], re.IGNORECASE), regex=True)
    return Rule(rule, re.compile(rf"(?<!\w){re.escape(fold(rule))}"), regex=False)


@dataclass(frozen=True)
class RuleSet:
    """One level of rules: keep an entry only if it matches an include rule (when there are
    any), and drop it if it matches an exclude rule."""

    where: str  # "feeds.yaml" or "source"
    include: tuple[Rule, ...]
    exclude: tuple[Rule, ...]

    @classmethod
    def of(cls, where: str, include: list[str], exclude: list[str]) -> RuleSet:
        return cls(where, tuple(map(compile_rule, include)), tuple(map(compile_rule, exclude)))


@dataclass(frozen=True)
class Rules:
    """Every rule an entry of one source answers to: the top level's, then the source's."""

    levels: tuple[RuleSet, ...] = ()

    def verdict(self, entry: Entry) -> str | None:
        """None to keep the entry, else why it is dropped."""
        if not any(level.include or level.exclude for level in self.levels):
            return None
        text = f"{entry.title}\n{entry.excerpt}\n{' '.join(entry.categories)}"
        folded = fold(text)
        for level in self.levels:
            if level.include and not any(r.matches(text, folded) for r in level.include):
                return f"no {level.where} include rule matches"
            for rule in level.exclude:
                if rule.matches(text, folded):
                    return f"{level.where} exclude rule {rule.text!r} matches"
        return None
