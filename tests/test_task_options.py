"""Every task acknowledged late is given back to the queue when its worker dies (Celery's task option is
`reject_on_worker_lost`; `task_reject_on_worker_lost` is the name of the *setting*, and as a task option it
was silently ignored, so a killed worker lost the retention jobs' and the erasure's messages)."""

from portal.celery import app


def our_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_late_acknowledged_task_is_requeued_when_its_worker_dies():
    late = {name: task for name, task in our_tasks().items() if task.acks_late}
    assert {"portal.erasure_carry_out", "biometrics.enrollment_process", "stores.retention_footprint"} <= set(late)
    assert {name for name, task in late.items() if task.reject_on_worker_lost is not True} == set()


def test_no_task_carries_a_setting_name_as_an_option():
    for name, task in our_tasks().items():
        assert not [attribute for attribute in vars(type(task)) if attribute.startswith("task_")], name
