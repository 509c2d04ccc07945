"""Regression rules built from short strings, as pytest-benchmark's ``median:10%``.

``FIELD:PERCENT%`` fails when the current value is more than PERCENT% above the stored
one. The fields are those of a stored speed entry: ``median`` (its stats) and
``torch_ratio`` (``extra_info.ratio_to_torch``). Each rule has one method,
``fails(current, stored)``, which returns a one-line reason, or None when it passes or
has nothing to compare.
"""

import dataclasses
import math
import re

_RULE = re.compile(r"^(?P<field>[a-z_]+):(?P<percent>\d+(\.\d+)?)%$")
FIELDS = {"median": "median", "torch_ratio": "ratio_to_torch"}


@dataclasses.dataclass(frozen=True)
class GrowthRule:
    """Fails when ``field`` grew by more than ``percent``% over the stored value."""

    field: str
    percent: float

    @property
    def text(self):
        return f"{self.field}:{self.percent:g}%"

    def allowed(self, stored):
        return stored * (1.0 + self.percent / 100.0)

    def fails(self, current, stored):
        now, before = current.get(FIELDS[self.field]), stored.get(FIELDS[self.field])
        if now is None or before is None:
            return None
        if not (math.isfinite(now) and now <= self.allowed(before)):
            return (f"{self.field} {now:.4g} is over {self.allowed(before):.4g} "
                    f"(stored {before:.4g} + {self.percent:g}%, rule {self.text})")
        return None


def parse_rule(text):
    """``"median:150%"`` -> GrowthRule; anything else is a ValueError naming the forms."""
    match = _RULE.match(str(text).strip())
    if not match or match["field"] not in FIELDS:
        raise ValueError(f"Invalid speed rule {text!r}: expected FIELD:PERCENT% with FIELD one of "
                         f"{', '.join(FIELDS)} (e.g. median:150%).")
    return GrowthRule(match["field"], float(match["percent"]))
