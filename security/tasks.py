"""Chapter 5's Celery tasks: thin adapters calling services."""

from celery import shared_task

from security.services.leaks import leak_monitor_run


@shared_task(name="security.tasks.leak_monitor")
def leak_monitor_task() -> int:
    """R28.4: the hourly leak monitor (every full hour not yet processed); returns the number of anomalies filed."""
    return len(leak_monitor_run())
