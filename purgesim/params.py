"""Declared parameters: every behavioural number has a unit, a default, a range and a meaning.

Each mechanism module declares a pydantic model of its parameters with `P(...)`.  The range is
enforced on every scenario file and `--set`, listed by `purgesim params`, and reused as the
prior range by calibration.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def P(default: Any, lo: float | None = None, hi: float | None = None, *, unit: str = "",
      meaning: str, free: bool = False) -> Any:
    """A declared parameter.  `free=True` marks it as a calibration parameter."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=meaning,
        json_schema_extra={"unit": unit, "lo": lo, "hi": hi, "free": free},
    )


class MechanismParams(BaseModel):
    """Base of every mechanism's parameters; `enabled` is the mechanism's switch."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    enabled: bool = Field(True, description="switch the mechanism on or off",
                          json_schema_extra={"unit": "", "lo": None, "hi": None, "free": False})


def describe(model: BaseModel, prefix: str) -> list[dict[str, Any]]:
    """Rows (name, value, unit, range, meaning) for the `params` table and the ODD appendix."""
    rows = []
    for name, info in type(model).model_fields.items():
        extra = info.json_schema_extra or {}
        assert isinstance(extra, dict)
        rows.append({
            "name": f"{prefix}.{name}",
            "value": getattr(model, name),
            "unit": extra.get("unit", ""),
            "lo": extra.get("lo"),
            "hi": extra.get("hi"),
            "free": bool(extra.get("free", False)),
            "meaning": info.description or "",
        })
    return rows
