"""The alchemiscale scope: ``org-campaign-project``, with ``*`` wildcards that may only trail (docs/facts.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

WILDCARD = "*"
_PART = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")

SCOPE_RULE = (
    "a scope is org-campaign-project: exactly three parts separated by '-', each a letter followed by letters, "
    "digits or '_', or the wildcard '*'; once a part is '*' every later part must be '*' too "
    "(valid: org-campaign-project, org-campaign-*, org-*-*, *-*-*)"
)


class InvalidScope(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Scope:
    org: str
    campaign: str
    project: str

    @classmethod
    def from_str(cls, text: str) -> Scope:
        if not isinstance(text, str):
            raise InvalidScope(f"invalid scope {text!r}: {SCOPE_RULE}")
        parts = text.split("-")
        if len(parts) != 3:
            raise InvalidScope(f"invalid scope {text!r}: it has {len(parts)} part(s); {SCOPE_RULE}")
        seen_wildcard = False
        for part in parts:
            if part == WILDCARD:
                seen_wildcard = True
            elif seen_wildcard or not _PART.fullmatch(part):
                raise InvalidScope(f"invalid scope {text!r}: {SCOPE_RULE}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.org}-{self.campaign}-{self.project}"

    @property
    def is_wildcard(self) -> bool:
        return WILDCARD in (self.org, self.campaign, self.project)

    def covers(self, other: Scope) -> bool:
        """True when every non-wildcard part of this scope equals the same part of ``other``."""
        return all(
            mine == WILDCARD or mine == theirs
            for mine, theirs in zip((self.org, self.campaign, self.project), (other.org, other.campaign, other.project))
        )

    def describe(self) -> str:
        """What this scope grants, in words (for the scopes editor)."""
        if self.org == WILDCARD:
            return "every scope of every org (full access to all data)"
        if self.campaign == WILDCARD:
            return f"every campaign and project of org {self.org}"
        if self.project == WILDCARD:
            return f"every project of campaign {self.campaign} in org {self.org}"
        return "exactly this project"


def parse_scopes(texts: list[str] | tuple[str, ...]) -> list[Scope]:
    """Parse several scopes; all errors together so nothing is applied when one is wrong."""
    scopes, errors = [], []
    for text in texts:
        try:
            scopes.append(Scope.from_str(text))
        except InvalidScope as exc:
            errors.append(str(exc))
    if errors:
        raise InvalidScope("; ".join(errors))
    return scopes
