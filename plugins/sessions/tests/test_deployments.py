"""Sessions on the Redis deployments teams run, each started for real on loopback: Cluster, Sentinel with a
failover mid-session, TLS (and mutual TLS), a unix socket, an ACL user with exactly the documented rules."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import orjson
import pytest
from agentwinter_sessions import tracker

from agentwinter_core.query import run_command, run_query
from tests.helpers.app import cli_here as cli
from tests.helpers.app import err, make_app, out, project_env, user_texts
from tests.helpers.redis_server import RedisServer
from tests.helpers.topologies import Cluster, SentinelSet, TlsServer, acl_user

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def clean(app) -> None:
    assert "Traceback" not in err(app) and "failed in" not in err(app) and "not saved yet" not in err(app), err(app)


def command(app, line: str) -> str:
    before = len(out(app))
    run_command(app, line)
    return out(app)[before:]


@pytest.mark.slow
def test_a_cluster_keeps_sessions_lists_them_and_says_where_they_are(env, fake_api, monkeypatch):
    with Cluster() as cluster:
        url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in cluster.ports)
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", url)
        app, agent = make_app(env, session="on-cluster")
        for query in ("q1", "q2", "q3"):
            run_query(app, agent, query)
        session_id = tracker(app).state.id
        clean(app)
        assert "db 0 of a cluster: the `agentwinter:` key prefix keeps sessions apart" in command(app, "!cache")
        assert f"`{session_id}`" in command(app, "!sessions")
        client = cluster.client()
        key = f"agentwinter:session:{session_id}"
        assert client.keyslot(key) == client.keyslot(f"agentwinter:meta:{{{key}}}")
        shown = subprocess.run(  # what the README promises a user can type
            ["redis-cli", "-c", "-p", str(cluster.ports[0]), "GET", key], capture_output=True, text=True, check=True
        )
        assert user_texts(json.loads(shown.stdout)["messages"]) == ["q1", "q2", "q3"]
        listing = cli("sessions", "list", "--json", cwd=env)
        assert [row["id"] for row in json.loads(listing.stdout)] == [session_id], listing.stderr
        assert session_id in cli("sessions", "list", "--all", cwd=env).stdout
        again, again_agent = make_app(env, session="on-cluster")
        run_query(again, again_agent, "q4")
        assert user_texts(orjson.loads(client.get(key))["messages"]) == ["q1", "q2", "q3", "q4"]
        assert tracker(again).store.expiring(10**6) == [(session_id, tracker(again).state.version)]  # across nodes
        for port in cluster.ports:
            node = RedisServer(port)
            keys = node.client(0).keys("agentwinter:*")
            assert {k.split(b":")[1] for k in keys} <= {b"session", b"meta", b"index", b"dir", b"owner", b"names"}
            assert all(node.client(0).ttl(k) > 0 for k in keys)
        client.set(key, b"{broken", keepttl=True)
        broken = cli("--resume", session_id, "-p", "hi", cwd=env)  # set aside on its own node (one slot)
        assert f"kept as agentwinter:quarantine:{{{key}}}:" in broken.stderr, broken.stderr
        run_query(again, again_agent, "q5")  # the running process saves its conversation again
        assert user_texts(orjson.loads(client.get(key))["messages"])[-1] == "q5"
        assert cli("sessions", "rm", "on-cluster", cwd=env).returncode == 0
        assert not client.exists(key) and cli("sessions", "list", "--json", cwd=env).stdout.strip() == "[]"


@pytest.mark.slow
def test_a_slot_moved_between_the_touch_and_the_save_keeps_the_query(env, fake_api, monkeypatch):
    """The touch watches on the slot owner's connection; the slot moves to another node (resharding); the
    save meets MOVED there, follows it with a fresh WATCH on the new owner, and stores the query."""
    with Cluster(masters=3) as cluster:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", "redis+cluster://" + ",".join(f"{h}:{p}" for h, p in cluster.nodes))
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        store, key = tracker(app).store, f"agentwinter:session:{tracker(app).state.id}"
        real, moved = store.touch, []

        def touch_then_reshard(session_id):
            found = real(session_id)  # watched on the current owner of the slot
            if moved:
                return found
            slot, owner = store.client.keyslot(key), store.client.get_node_from_key(key).port
            target = next(port for port in cluster.ports if port != owner)
            source, destination = RedisServer(owner).client(0), RedisServer(target).client(0)
            ids = {port: RedisServer(port).client(0).execute_command("CLUSTER MYID").decode() for port in cluster.ports}
            destination.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", ids[owner])
            source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", ids[target])
            keys = source.execute_command("CLUSTER GETKEYSINSLOT", slot, 100)
            source.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
            for port in cluster.ports:
                RedisServer(port).client(0).execute_command("CLUSTER SETSLOT", slot, "NODE", ids[target])
            moved.append((owner, target))
            return found

        monkeypatch.setattr(store, "touch", touch_then_reshard)
        run_query(app, agent, "q2")
        run_query(app, agent, "q3")
        clean(app)
        (owner, target), client = moved[0], cluster.client()
        assert client.get_node_from_key(key).port == target != owner
        assert user_texts(orjson.loads(client.get(key))["messages"]) == ["q1", "q2", "q3"]


@pytest.mark.slow
def test_a_plain_url_at_a_cluster_node_says_to_use_the_cluster_scheme(env, fake_api, monkeypatch):
    with Cluster() as cluster:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis://127.0.0.1:{cluster.ports[0]}/1")
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        assert "is a cluster node: set redis_url = redis+cluster://HOST:PORT" in err(app)
        listing = cli("sessions", "list", cwd=env)
        assert listing.returncode == 1 and "redis+cluster://" in listing.stderr and "Traceback" not in listing.stderr


@pytest.mark.slow
def test_sentinel_failover_in_the_middle_of_a_session_keeps_every_query(env, fake_api, monkeypatch):
    with SentinelSet() as deployment:
        (host, port) = deployment.sentinels[0]
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis+sentinel://{host}:{port}/{deployment.service}/1")
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        run_query(app, agent, "q2")
        old = deployment.primary()
        new = deployment.failover()
        assert new != old
        for query in ("q3", "q4", "q5"):
            run_query(app, agent, query)
        assert "Traceback" not in err(app) and "failed in" not in err(app)
        key = f"agentwinter:session:{tracker(app).state.id}"
        primary = RedisServer(new[1]).client(1)
        assert user_texts(orjson.loads(primary.get(key))["messages"]) == ["q1", "q2", "q3", "q4", "q5"]
        assert "(through Sentinel)" in command(app, "!cache")


@pytest.mark.slow
def test_a_sentinel_that_knows_no_such_service_is_named(env, fake_api, monkeypatch):
    with SentinelSet() as deployment:
        (host, port) = deployment.sentinels[0]
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis+sentinel://{host}:{port}/no-such-service/1")
        done = cli("sessions", "list", cwd=env)
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"error: no Sentinel at redis+sentinel://{host}:{port}/no-such-service/1 names")


@pytest.mark.slow
def test_tls_with_a_ca_file_mutual_tls_by_config_keys_and_a_tls_failure_named(env, fake_api, monkeypatch, tmp_path):
    with TlsServer(mutual=True) as server:
        (tmp_path / "config.toml").write_text(
            "[sessions]\n"
            f'redis_url = "rediss://127.0.0.1:{server.port}/1"\n'
            f'tls_ca_file = "{server.ca_file}"\ntls_cert_file = "{server.client_cert}"\n'
            f'tls_key_file = "{server.client_key}"\n'
        )
        monkeypatch.delenv("AGENTWINTER_REDIS_URL")
        app, agent = make_app(env)
        run_query(app, agent, "over TLS")
        clean(app)
        assert server.client(1).exists(f"agentwinter:session:{tracker(app).state.id}")
        (tmp_path / "config.toml").write_text(f'[sessions]\nredis_url = "rediss://127.0.0.1:{server.port}/1"\n')
        listing = cli("sessions", "list", cwd=env)  # no CA: the server's certificate cannot be verified
        assert listing.returncode == 1 and len(listing.stderr.splitlines()) == 1
        assert re.search(
            r"error: TLS error talking to Redis at rediss://127.0.0.1:\d+/1 \(.*certificate", listing.stderr
        )


def test_tls_verification_can_be_turned_off_by_url(env, fake_api, monkeypatch):
    with TlsServer() as server:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"rediss://127.0.0.1:{server.port}/1?ssl_cert_reqs=none")
        app, agent = make_app(env)
        run_query(app, agent, "unverified")
        clean(app)


def test_a_unix_socket(env, fake_api, monkeypatch):
    with RedisServer(unix_socket=True, tcp=False) as server:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", server.unix_url(1))
        app, agent = make_app(env)
        run_query(app, agent, "through the socket")
        clean(app)
        assert server.client(1).exists(f"agentwinter:session:{tracker(app).state.id}")


def documented_acl_rules() -> list[str]:
    """The rules of the ``ACL SETUSER`` line in the sessions README, as a user would paste them."""
    line = next(line for line in README.read_text().splitlines() if line.strip().startswith("ACL SETUSER agentwinter"))
    return line.split()[3:]  # after ACL SETUSER <name>


@pytest.mark.slow
def test_exactly_the_documented_acl_rules_suffice(env, fake_api, monkeypatch, redis_server, tmp_path):
    rules = [rule if rule != ">PASSWORD" else ">s3cret" for rule in documented_acl_rules()]
    acl_user(redis_server.client(1), "agentwinter", "ignored", rules)
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis://agentwinter:s3cret@127.0.0.1:{redis_server.port}/1")
    app, agent = make_app(env, session="acl")
    run_query(app, agent, "q1")
    for line in ("!sessions", "!cache", "!fork 1", "!name acl-copy", "!resume acl", "!new"):
        assert "denied" not in command(app, line), line
    run_query(app, agent, "q2")
    clean(app)
    for args in (("sessions", "list", "--all"), ("sessions", "show", "acl"), ("sessions", "export", "acl")):
        done = cli(*args, cwd=env)
        assert done.returncode == 0, (args, done.stderr)
    exported = tmp_path / "acl.json"
    exported.write_text(cli("sessions", "export", "acl", cwd=env).stdout)
    assert cli("sessions", "import", str(exported), cwd=env).returncode == 0
    assert cli("sessions", "rm", "acl", cwd=env).returncode == 0
    redis_server.client(1).set(f"agentwinter:session:{tracker(app).state.id}", b"{broken")  # quarantine: RENAME
    broken = cli("--resume", tracker(app).state.id, "-p", "hi", cwd=env)
    assert "kept as agentwinter:quarantine:" in broken.stderr and "denied" not in broken.stderr, broken.stderr
    assert "s3cret" not in err(app) + out(app)
