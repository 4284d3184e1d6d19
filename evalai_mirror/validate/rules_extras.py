"""Rules for the optional ``tags``, ``domain`` and ``prizes``."""

from __future__ import annotations

import re
from typing import Any

from evalai_mirror.validate.base import CheckerBase, hashable_or_crash, iterate

DOMAINS = ("CV", "NLP", "RL", "MM", "AUD", "TAB")
# Patterns are compiled on first use (re caches them): compiling costs start-up time.
AMOUNT_RE = r"^\d+(\.\d{1,2})?[A-Z]{3}$"


class ExtraRules(CheckerBase):
    def tags(self) -> None:
        if "tags" not in self.data:
            return
        self.at = ("tags",)
        tags = self.data["tags"]
        if not hasattr(tags, "__len__"):
            raise self.crash(f"tags is a {type(tags).__name__}", "Write `tags: [a, b]`.")
        if len(tags) > 4:
            self.add("ERROR: Tags are limited to 4. Please remove extra tags then try again!")

    def domain(self) -> None:
        if "domain" not in self.data:
            return
        self.at = ("domain",)
        if self.data["domain"] not in DOMAINS:
            self.add(
                "ERROR: Domain name is incorrect. Please enter correct domain name then try again!",
                hint="use one of " + ", ".join(DOMAINS),
            )

    def prizes(self) -> None:
        if "prizes" not in self.data:
            return
        self.at = ("prizes",)
        ranks: list[Any] = []
        for index, prize in enumerate(iterate(self, self.data["prizes"])):
            self.at = ("prizes", index)
            if not isinstance(prize, dict):
                raise self.crash(f"prize {index + 1} is not a mapping", "Give it rank and amount.")
            if "rank" not in prize or "amount" not in prize:
                self.add("ERROR: Prize rank or amount not found in YAML data.")
            if "rank" not in prize:
                raise self.crash(f"prize {index + 1} has no `rank`", "Add `rank: <n>`.")
            rank = prize["rank"]
            hashable_or_crash(self, rank, "rank")
            if rank in ranks:
                self.add(
                    f"ERROR: Duplicate rank {rank} found in YAML data.", ("prizes", index, "rank")
                )
            ranks.append(rank)
            if not isinstance(rank, int) or rank < 1:
                self.add(
                    f"ERROR: Invalid rank value {rank}. Rank should be an integer.",
                    ("prizes", index, "rank"),
                )
            if "amount" not in prize:
                raise self.crash(f"prize {index + 1} has no `amount`", "Add `amount: 100.00USD`.")
            amount = prize["amount"]
            if not isinstance(amount, str):
                raise self.crash(
                    f"the amount of prize {index + 1} is a {type(amount).__name__}, not text",
                    "Write it like `amount: 100.00USD`.",
                    ("prizes", index, "amount"),
                )
            if not re.match(AMOUNT_RE, amount):
                self.add(
                    f"ERROR: Invalid amount value {amount}. Amount should be in decimal format "
                    "with three-letter currency code (e.g. 100.00USD, 500EUR, 1000INR).",
                    ("prizes", index, "amount"),
                )
