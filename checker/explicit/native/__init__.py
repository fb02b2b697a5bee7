"""The native engine: the model's IR generated as C, compiled once, explored without Python per state."""
