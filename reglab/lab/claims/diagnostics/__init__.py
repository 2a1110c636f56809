"""Claims of kind 'diagnostics'."""
