"""The function transformations: autodiff (ad), custom rules (custom)."""
