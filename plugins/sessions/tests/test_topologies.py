"""The deployment helpers start real servers that redis-py can use as users would: Cluster, Sentinel, TLS, ..."""

import stat

import pytest
import redis
from redis.exceptions import CrossSlotTransactionError, MovedError, NoPermissionError, OutOfMemoryError
from redis.sentinel import Sentinel

from tests.helpers.redis_server import RedisServer
from tests.helpers.topologies import HOST, Cluster, SentinelSet, TlsServer, acl_user, info, no_retry, plain_client


def assert_gone(servers: list[RedisServer]) -> None:
    for server in servers:
        assert server.process is not None and server.process.poll() is not None
        assert not server.dir.exists()


@pytest.mark.slow
def test_cluster_routes_a_key_to_its_slot_owner_and_hash_tags_share_a_slot():
    with Cluster() as cluster:
        client = cluster.client()
        key = "agentwinter:session:abc"
        client.set(key, "v")
        slot = client.keyslot(key)
        (owner,) = [port for first, last, port in cluster.slot_map(cluster.ports[0]) if first <= slot <= last]
        for port in cluster.ports:
            with plain_client(port) as node:
                if port == owner:
                    assert node.get(key) == b"v"
                else:
                    with pytest.raises(MovedError):
                        node.get(key)

        assert client.keyslot("agentwinter:{abc}:doc") == client.keyslot("agentwinter:{abc}:index")
        with client.pipeline(transaction=True) as tx:
            tx.set("agentwinter:{abc}:doc", "d").set("agentwinter:{abc}:index", "i").execute()
        assert client.get("agentwinter:{abc}:index") == b"i"
        with pytest.raises(CrossSlotTransactionError), client.pipeline(transaction=True) as tx:
            tx.set("agentwinter:{abc}:doc", "d").set("agentwinter:{xyz}:index", "i").execute()
    assert len(cluster.nodes) == 3
    assert_gone(cluster.servers)


@pytest.mark.slow
def test_sentinel_failover_swaps_roles_and_master_for_follows():
    with SentinelSet() as deployment:
        assert deployment.primary() == (HOST, deployment.primary_port)
        sentinel = Sentinel(deployment.sentinels, socket_timeout=2)
        master = sentinel.master_for(deployment.service, db=1, socket_timeout=2, retry=no_retry())
        master.set("agentwinter:before", "1")
        assert master.wait(1, 5000) == 1  # the replica has it: a failover now cannot lose it

        assert deployment.failover() == (HOST, deployment.replica_port)

        assert deployment.primary() == (HOST, deployment.replica_port)
        assert info(deployment.replica_port, "replication")["role"] == "master"
        assert info(deployment.primary_port, "replication")["role"] == "slave"
        master.set("agentwinter:after", "2")  # the same client, now talking to the new primary
        with plain_client(deployment.replica_port, db=1) as new_primary:
            assert new_primary.mget("agentwinter:before", "agentwinter:after") == [b"1", b"2"]
    assert_gone([deployment.primary_server, deployment.replica_server, deployment.sentinel])


def test_tls_server_needs_the_test_ca():
    with TlsServer() as server:
        assert redis.from_url(server.url(db=1)).ping()
        assert server.client().config_get("port") == {"port": "0"}  # no plain TCP
        without_ca = redis.Redis(host=HOST, port=server.port, ssl=True, socket_timeout=2, retry=no_retry())
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            without_ca.ping()


def test_mutual_tls_needs_the_client_certificate():
    with TlsServer(mutual=True) as server:
        assert "ssl_certfile=" in server.url() and redis.from_url(server.url()).ping()
        with pytest.raises(redis.ConnectionError):
            redis.from_url(server.url(client_cert=False), socket_timeout=2).ping()


def test_unix_socket_server_without_tcp():
    with RedisServer(unix_socket=True, tcp=False) as server:
        assert server.socket_path is not None and stat.S_IMODE(server.socket_path.stat().st_mode) == 0o700
        client = redis.from_url(server.unix_url(db=1))
        client.set("agentwinter:x", "1")
        assert server.client(db=1).get("agentwinter:x") == b"1"
        assert client.config_get("port") == {"port": "0"}


def test_acl_user_gets_exactly_its_rules(redis_server):
    admin = redis_server.client(db=0)
    acl_user(admin, "agentwinter", "s3cret", ["~*", "+@all"])
    acl_user(admin, "agentwinter", "s3cret", ["~agentwinter:*", "+get", "+set"])  # replaces, keeps nothing
    user = redis.Redis(port=redis_server.port, username="agentwinter", password="s3cret", retry=no_retry())
    assert user.set("agentwinter:x", "1") and user.get("agentwinter:x") == b"1"
    with pytest.raises(NoPermissionError):
        user.set("other:x", "1")
    with pytest.raises(NoPermissionError):
        user.delete("agentwinter:x")


def fill(client: redis.Redis, keys: int = 60) -> None:
    for i in range(keys):  # 6 MB into a 2 MB server
        client.set(f"agentwinter:fill:{i}", b"x" * 100_000)


def test_noeviction_server_refuses_writes_when_full():
    with RedisServer(extra=("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")) as server:
        client = server.client()
        with pytest.raises(OutOfMemoryError):
            fill(client)
        assert 0 < client.dbsize() < 60


def test_allkeys_lru_server_evicts_old_keys():
    with RedisServer(extra=("--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru")) as server:
        client = server.client()
        fill(client)
        assert client.get("agentwinter:fill:0") is None and client.get("agentwinter:fill:59") is not None
        assert client.info("stats")["evicted_keys"] > 0
