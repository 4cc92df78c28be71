// Wire encoding of watch responses straight from the hub's shared events.
//
// A WatchResponse carries its events as repeated field `events` (number 11), the highest field
// number of the message, so its wire form is the encoding of its other fields followed by one
// length-delimited field 11 per event. Copying each shared mvccpb::Event into a response per
// stream, stripping prev_kv, serializing and freeing the copies costs several allocations per
// event; for one revision of 10,000 events that was milliseconds per stream between commit
// and watcher. Instead the service sizes each event (EncodedEventBytes), allocates the whole
// response once, and writes each event into it from the shared event (WriteEventsResponse):
// no allocation per event, and the bytes are exactly those of a filled `events` field, so
// clients parse ordinary events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"

namespace grid::kv::watch {

// Bytes of `ev` encoded as an mvccpb::Event, prev_kv left out unless `with_prev_kv`; the
// encoding equals the serialization of a copy of `ev` with prev_kv cleared. Also caches the
// sizes of `ev`'s parts that writing it needs (protobuf's cached sizes are atomic, so many
// threads may size and write one shared event at once).
size_t EncodedEventBytes(const mvccpb::Event& ev, bool with_prev_kv);

// Bytes that one encoded event of `encoded_bytes` adds to a WatchResponse (tag and length
// included).
size_t EventFieldBytes(size_t encoded_bytes);

// Appends `ev` encoded as above to *out.
void AppendEncodedEvent(const mvccpb::Event& ev, bool with_prev_kv, std::string* out);

// Writes `head` (a WatchResponse's serialized fields, none of them events) followed by
// events[i] as field 11, whose encoding is `encoded_bytes[i]` bytes (EncodedEventBytes with
// the same `with_prev_kv`, called on this thread), to `out`, which holds exactly
// head.size() + sum of EventFieldBytes(encoded_bytes[i]) bytes. REQUIRES: equal spans.
void WriteEventsResponse(std::string_view head,
                         std::span<const std::shared_ptr<const mvccpb::Event>> events,
                         std::span<const uint32_t> encoded_bytes, bool with_prev_kv,
                         uint8_t* out);

}  // namespace grid::kv::watch
