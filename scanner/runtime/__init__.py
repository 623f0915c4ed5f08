"""Runtime detector and breaker: a streaming library fed by EventBridge events."""
