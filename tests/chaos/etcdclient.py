"""A thin etcd v3 gRPC client: raw stubs, so every error keeps its gRPC code.

KV, Lease and Maintenance use the generated stubs shipped with python3-etcd3.
The Lock service (v3lockpb) has no generated Python module there, so its four
small messages are encoded here by hand (protobuf wire format).
"""
import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc

# Reconnect quickly after a member restarts (gRPC's default backoff grows to 120 s).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
    # Also the connect timeout: a connect to a paused or cut-off member gives up after it.
    ("grpc.min_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),
]

# Messages gRPC gives when the call failed before any byte reached the server.
_NOT_SENT_MARKERS = ("failed to connect to all addresses", "Connection refused",
                     "connection refused")


def not_sent(err):
    """True when `err` proves the request never reached a server."""
    if not isinstance(err, grpc.RpcError) or err.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    details = err.details() or ""
    return any(m in details for m in _NOT_SENT_MARKERS)


# --- protobuf wire format, just enough for v3lockpb ---

def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(buf, pos):
    shift = 0
    value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf):
    """Yields (field_number, wire_type, value) for a serialized message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value = bytes(buf[pos:pos + length])
            pos += length
        elif wire == 1:
            value = bytes(buf[pos:pos + 8])
            pos += 8
        elif wire == 5:
            value = bytes(buf[pos:pos + 4])
            pos += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield num, wire, value


def _bytes_field(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def encode_lock_request(name, lease_id):
    return _bytes_field(1, name) + _varint(2 << 3 | 0) + _varint(lease_id)


def encode_unlock_request(key):
    return _bytes_field(1, key)


def decode_lock_response(buf):
    """(header_revision, key) of a LockResponse."""
    revision, key = 0, b""
    for num, wire, value in _fields(buf):
        if num == 1 and wire == 2:
            for hnum, hwire, hvalue in _fields(value):
                if hnum == 3 and hwire == 0:
                    revision = hvalue
        elif num == 2 and wire == 2:
            key = value
    return revision, key


def _identity(b):
    return b


class Conn:
    """One channel to one member endpoint ("host:port"). Not shared between threads.

    Call reset() after a failed call: a gRPC channel whose first connects hit a
    member that was not serving yet can stay stuck for many seconds, while a fresh
    channel connects at once."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.channel = None
        self.reset()

    def reset(self):
        if self.channel is not None:
            self.channel.close()
        self.channel = grpc.insecure_channel(self.endpoint, options=CHANNEL_OPTIONS)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.lease = rpc_pb2_grpc.LeaseStub(self.channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(self.channel)
        self._lock = self.channel.unary_unary("/v3lockpb.Lock/Lock", _identity, _identity)
        self._unlock = self.channel.unary_unary("/v3lockpb.Lock/Unlock", _identity, _identity)

    def close(self):
        self.channel.close()

    def get(self, key, timeout, serializable=False):
        """The value (str) or None when absent; raises grpc.RpcError."""
        r = self.kv.Range(rpc_pb2.RangeRequest(key=key.encode(), serializable=serializable),
                          timeout=timeout)
        return r.kvs[0].value.decode() if r.kvs else None

    def get_kv(self, key, timeout):
        """The KeyValue message or None when absent."""
        r = self.kv.Range(rpc_pb2.RangeRequest(key=key.encode()), timeout=timeout)
        return r.kvs[0] if r.kvs else None

    def put(self, key, value, timeout):
        self.kv.Put(rpc_pb2.PutRequest(key=key.encode(), value=value.encode()),
                    timeout=timeout)

    def delete(self, key, timeout):
        """True when the key existed."""
        r = self.kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=key.encode()), timeout=timeout)
        return r.deleted > 0

    def put_if_value_below(self, key, value, timeout):
        """Txn: put key=value only if the stored value compares below `value` (bytes order).
        Returns whether the put happened."""
        cmp = rpc_pb2.Compare(result=rpc_pb2.Compare.LESS, target=rpc_pb2.Compare.VALUE,
                              key=key.encode(), value=value.encode())
        put = rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key.encode(),
                                                                value=value.encode()))
        r = self.kv.Txn(rpc_pb2.TxnRequest(compare=[cmp], success=[put]), timeout=timeout)
        return r.succeeded

    def status(self, timeout):
        """(member_id, leader_id, raft_index) from this member."""
        r = self.maintenance.Status(rpc_pb2.StatusRequest(), timeout=timeout)
        return r.header.member_id, r.leader, r.raftIndex

    def lease_grant(self, ttl_seconds, timeout):
        r = self.lease.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=ttl_seconds), timeout=timeout)
        if r.error:
            raise RuntimeError("lease grant: %s" % r.error)
        return r.ID

    def lease_revoke(self, lease_id, timeout):
        self.lease.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=lease_id), timeout=timeout)

    def lock(self, name, lease_id, timeout):
        """(header_revision, lock_key bytes)."""
        return decode_lock_response(self._lock(encode_lock_request(name.encode(), lease_id),
                                               timeout=timeout))

    def unlock(self, key, timeout):
        self._unlock(encode_unlock_request(key), timeout=timeout)
