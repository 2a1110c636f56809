"""Claims of kind 'parameter'."""
