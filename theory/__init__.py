"""rote.theory: closed-form predictions (sympy expressions, numpy constructions); no training."""
