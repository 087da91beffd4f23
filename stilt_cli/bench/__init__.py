"""`make bench` / `python -m stilt_cli.bench`: stilt's speed against the baselines users would otherwise run."""
