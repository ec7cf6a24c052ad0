"""Pure decisions over the objects the API returns: queue, next step, rollout verdict, undo plan, lock, retry."""
