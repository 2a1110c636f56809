"""The same smoke grids through a Dask LocalCluster store the same metrics as a local run."""

import pytest

distributed = pytest.importorskip("distributed")

from reglab.lab.results import ResultStore  # noqa: E402
from reglab.lab.runner import run_claims  # noqa: E402

IDS = ["l2-conditioning", "l2-gaussian-map"]


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::DeprecationWarning")
def test_local_cluster_matches_local_run(tmp_path):
    local = ResultStore(tmp_path / "local.sqlite")
    run_claims(IDS, store=local, smoke=True)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,
    ) as cluster:
        remote = ResultStore(tmp_path / "dask.sqlite")
        report = run_claims(IDS, store=remote, smoke=True, scheduler=cluster.scheduler_address)
    assert report.ok and report.done > 0
    assert local.all_metric_rows() == remote.all_metric_rows()
    assert len(local.all_metric_rows()) > 0
