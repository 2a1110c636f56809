"""One module per claim, grouped by kind (see reglab.taxonomy.Kind)."""
