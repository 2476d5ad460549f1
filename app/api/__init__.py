"""The student JSON API (/api/v1) that the student pages and kiosk clients use."""
