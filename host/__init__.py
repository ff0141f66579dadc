"""Host-side tools: image conversion, Paddle reference, simulator runs, log parsing, reports."""
