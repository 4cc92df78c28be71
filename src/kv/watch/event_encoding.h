// Wire encoding of watch events for responses built without copying the hub's shared events.
//
// A WatchResponse carries its events as repeated field `events` (number 11). Copying each
// shared mvccpb::Event into a response per stream, stripping prev_kv, serializing and freeing
// the copies costs several allocations per event; for one revision of 10,000 events that is
// milliseconds per stream on the path from commit to the watcher. Instead the service encodes
// each event once per response straight from the shared event and adds it to the response's
// unknown-field set as a length-delimited field 11: the bytes on the wire are exactly those
// of a filled `events` field (unknown fields are written after the known ones, and 11 is the
// highest field number of WatchResponse), so clients parse ordinary events.
#pragma once

#include <cstddef>
#include <string>

#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"

namespace grid::kv::watch {

// Appends `ev` encoded as an mvccpb::Event to *out; prev_kv is left out unless `with_prev_kv`.
// The result equals the serialization of a copy of `ev` with prev_kv cleared.
// Thread-safety: `ev` is only read, so many threads may encode one shared event at once.
void AppendEncodedEvent(const mvccpb::Event& ev, bool with_prev_kv, std::string* out);

// Bytes AppendEncodedEvent(ev, with_prev_kv, ...) appends.
size_t EncodedEventBytes(const mvccpb::Event& ev, bool with_prev_kv);

// Bytes that one encoded event of `encoded_bytes` adds to a WatchResponse (tag and length
// included).
size_t EventFieldBytes(size_t encoded_bytes);

// Appends one encoded event to `response`'s events (as an unknown field 11, see above).
// Events added this way are invisible to response->events() in this process.
void AddEncodedEvent(std::string encoded, etcdserverpb::WatchResponse* response);

}  // namespace grid::kv::watch
