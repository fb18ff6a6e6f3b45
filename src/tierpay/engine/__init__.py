"""The engine: checked input columns through one period's stages (levels, scorecard, review, pay) to decisions."""
