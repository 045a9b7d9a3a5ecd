"""Initialisers for SSM state matrices (numpy float64, evaluated once at parameter init)."""
