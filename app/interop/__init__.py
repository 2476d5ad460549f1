"""Exchange with other systems (DESIGN.md: FHIR as interop/fhir/, one module per exporter)."""
