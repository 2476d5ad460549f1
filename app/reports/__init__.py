"""Reports: PDFs built with reportlab (app/reports/pdf/), each a function returning bytes."""
