"""The server API: DRF views, the wire envelope, throttles and parsers."""
