"""rote.figures: one module per study turning saved results into figures."""
