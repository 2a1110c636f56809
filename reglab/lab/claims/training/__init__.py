"""Claims of kind 'training'."""
