"""What every request passes before routing: header limits, request ids, deadlines, 5xx logs."""
