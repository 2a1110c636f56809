"""Claims of kind 'perturbation'."""
