"""Items and their versions, pools, blueprint, quality checks and statistics."""
