"""Claims of kind 'architecture'."""
