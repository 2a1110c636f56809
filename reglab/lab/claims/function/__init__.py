"""Claims of kind 'function'."""
