"""The test cluster itself: two nodes, actors on both, nothing on the machine's own address."""

from __future__ import annotations

import sys

import pytest

from tests.scale.cluster import NODE_IP, RayCluster

pytestmark = pytest.mark.slow

_TWO_ACTORS = """
import ray
ray.init()
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
@ray.remote(num_cpus=0)
class Where:
    def node(self):
        return ray.get_runtime_context().get_node_id()
nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
actors = [Where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote() for node in nodes]
print(len({n["NodeID"] for n in ray.nodes() if n["Alive"]}), len(set(ray.get([a.node.remote() for a in actors]))))
print(ray.util.get_node_ip_address())
"""


def test_two_nodes_two_actors_on_the_private_address(ray_cluster: RayCluster) -> None:
    done = ray_cluster.run([sys.executable, "-c", _TWO_ACTORS], timeout_s=120)
    assert done.returncode == 0, done.stderr[-2000:]
    nodes_and_actor_nodes, driver_ip = done.stdout.split("\n")[-3:-1]
    assert nodes_and_actor_nodes == "2 2"
    assert driver_ip == NODE_IP
    # Every Ray process is in the namespace: none is listening on the machine's own network.
    assert len(ray_cluster.processes()) >= 4
