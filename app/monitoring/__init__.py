"""What an operator watches: /metrics for Prometheus, the sweep's last run for /healthz."""
