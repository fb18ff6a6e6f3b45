"""Reading a ruleset: safe YAML with positions, ``extends:``, the pydantic models, compiled expressions, lint, versions."""
