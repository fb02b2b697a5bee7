"""The design-review bundle (`pgcheck report`): diagrams, catalogues and property tables
generated from the model, byte-for-byte the same for the same model.

Entry point: `bundle.build_bundle`. May import: every other subsystem.
"""
