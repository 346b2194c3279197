"""What the engine tests share: a toy study of their own (``toy_study``) and small helpers (``support``)."""
